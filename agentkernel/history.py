"""What a later agent sees of earlier turns: one rule for every framework.

:func:`history_messages` turns transcript turns into one list of neutral :class:`Message`\\ s, and
every adapter maps that one list to its framework's types, so an agent of any framework sees the
same conversation. For each turn, oldest first:

1. its input, without system prompts (they were the other agent's instructions); an input
   ``tool`` message answers no call the list holds, so it comes as a ``user`` message named after
   the tool;
2. each tool call, in order: an ``assistant`` message with one :class:`ToolCall` (id
   ``ak_<turn id>_<n>``), then at once the ``tool`` message with its result (a failed call's
   result is ``error: <text>``), so a call is always followed by its result;
3. each handoff: an ``assistant`` note ``[<agent> handed off to <target>]``;
4. the end: the answer as an ``assistant`` message named after the agent (an interrupted turn's
   answer is what it asked, and the next turn's input is the reply); for an error turn, the note
   ``[this turn failed (<error type>); no answer was given]``, so a later model neither takes the
   question as answered nor answers it blindly again.

Model calls, tasks and interrupt steps add nothing: their text is the turn's answer. Which turns
an agent may see at all is the runner's choice (the agent's ``history`` option).

Adapters whose framework keeps its own memory (LangGraph checkpoints, the Agents SDK's
conversation) feed only the turns the agent has not seen yet (its own error turns included: a
failed run leaves nothing in the framework's memory). They keep one cursor per agent in
their own namespace, under ``<agent>/history_next`` (the name percent-encoded): the index of the
next transcript turn the agent has not seen. :func:`unseen_turns` reads and moves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any
from urllib.parse import quote

from agentkernel.transcript import Message, Step, ToolCall, Turn

__all__ = ["CURSOR_KEY", "adopt_cursor", "cursor_key", "history_messages", "turn_messages", "unseen_turns"]

CURSOR_KEY = "history_next"
"""The last part of the seen cursor's key: ``<agent>/history_next``."""


def history_messages(turns: Iterable[Turn]) -> list[Message]:
    """Earlier turns as one conversation of neutral messages, oldest first (see the module)."""
    out: list[Message] = []
    for turn in turns:
        out.extend(turn_messages(turn))
    return out


def turn_messages(turn: Turn) -> list[Message]:
    """The messages that stand for one turn (see the module docstring)."""
    out: list[Message] = []
    for message in turn.input:
        if message.role == "system":
            continue
        if message.role == "tool":
            out.append(Message(role="user", content=message.content, name=message.name or "tool"))
        else:
            out.append(Message(role=message.role, content=message.content, name=message.name))
    calls = 0
    for step in turn.steps:
        if step.kind == "tool_call":
            call_id = _call_id(turn, calls)
            calls += 1
            speaker = step.agent or turn.agent
            name = step.name or "tool"
            call = ToolCall(id=call_id, name=name, arguments=step.arguments)
            out.append(Message(role="assistant", content="", name=speaker, tool_calls=[call]))
            out.append(Message(role="tool", content=_result_text(step), name=name, tool_call_id=call_id))
        elif step.kind == "handoff":
            source = step.agent or turn.agent
            out.append(Message(role="assistant", content=f"[{source} handed off to {step.name}]", name=source))
    if turn.status == "error":
        kind = turn.error.type if turn.error is not None else "error"
        out.append(
            Message(role="assistant", content=f"[this turn failed ({kind}); no answer was given]", name=turn.agent)
        )
    elif turn.output:
        out.append(Message(role="assistant", content=turn.output, name=turn.agent))
    return out


def cursor_key(agent: str) -> str:
    """The namespace key of ``agent``'s seen cursor: ``<agent>/history_next``."""
    return f"{quote(agent, safe='')}/{CURSOR_KEY}"


def unseen_turns(
    state: MutableMapping[str, Any],
    history: Sequence[Turn],
    *,
    agent: str,
    framework: str,
    next_index: int,
) -> list[Turn]:
    """The turns of ``history`` that ``agent`` has not seen; moves its cursor to ``next_index``.

    Turns the agent took itself in ``framework`` are left out, as the framework's own memory holds
    them; its own error turns are not (a failed run commits no memory), so it sees those too.

    Args:
        state: The adapter's namespace, where the cursor lives.
        history: Earlier turns the agent may see, oldest first (by ``index``); only the turns
            from the newest back to the first one already seen are read.
        agent: The agent's name.
        framework: The adapter's name.
        next_index: The cursor's new value: the index of the first turn after this run's.

    Returns:
        The unseen turns, oldest first.
    """
    key = cursor_key(agent)
    start = int(state.get(key, 0))
    # Newest first, stopping at the first seen turn: turns the agent has seen are never decoded.
    unseen: list[Turn] = []
    for t in reversed(history):
        if t.index < start:
            break
        if t.status == "error" or (t.agent, t.framework) != (agent, framework):
            unseen.append(t)
    unseen.reverse()
    if state.get(key) != next_index:
        state[key] = next_index
    return unseen


def adopt_cursor(state: MutableMapping[str, Any], agent: str, old_key: str, *, offset: int) -> None:
    """Move a cursor an earlier release kept under ``old_key`` to :func:`cursor_key`.

    Args:
        state: The adapter's namespace.
        agent: The agent's name.
        old_key: Where the old cursor is.
        offset: Added to the old value to make it the next unseen index (1 for a last-seen index).
    """
    if old_key not in state:
        return
    old = int(state[old_key])
    del state[old_key]
    state.setdefault(cursor_key(agent), old + offset)


def _call_id(turn: Turn, n: int) -> str:
    # Deterministic (the same history gives the same ids) and within every model API's
    # id alphabet and length.
    return f"ak_{re.sub(r'[^A-Za-z0-9_-]', '_', turn.id)[:40]}_{n}"


def _result_text(step: Step) -> str:
    if step.error is not None:
        return f"error: {step.error}"
    if isinstance(step.result, str):
        return step.result
    if step.result is None:
        return ""
    return json.dumps(step.result, ensure_ascii=False, sort_keys=True)
