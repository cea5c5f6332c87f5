"""Turns of other agents, fed into an SDK agent's conversation as SDK input items.

An SDK agent's own turns are already in its conversation (the SDK wrote them through
:class:`~agentkernel_openai_agents.memory.NamespaceSession`). Turns that other agents took in the
same session, of this framework or another, are not: before each run, the ones the agent has not
seen yet are added, as the kernel's one rule shows them (:mod:`agentkernel.history`), mapped to
Responses input items by :func:`input_items`. The agent's seen cursor (the next unseen turn
index, ``<agent>/history_next``) is the kernel's too, so each turn is fed once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from agentkernel.adapter import RunContext
from agentkernel.history import adopt_cursor
from agentkernel.transcript import Message
from agentkernel_openai_agents.memory import NamespaceSession, agent_prefix

__all__ = ["feed_unseen_turns", "input_items"]

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "tool": "user"}


def input_items(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Neutral messages as Responses input items.

    An assistant message's tool calls become ``function_call`` items (after its text, if any),
    and a ``tool`` message answering one becomes the ``function_call_output`` with that call id.
    A ``tool`` message with no call id comes in as a user message, as the API would refuse it.
    """
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool" and message.tool_call_id is not None:
            items.append({"type": "function_call_output", "call_id": message.tool_call_id, "output": message.content})
            continue
        if message.content or not message.tool_calls:
            items.append({"role": _ROLES[message.role], "content": message.content})
        for call in message.tool_calls or []:
            arguments = json.dumps(call.arguments if call.arguments is not None else {}, ensure_ascii=False)
            items.append({"type": "function_call", "call_id": call.id, "name": call.name, "arguments": arguments})
    return items


async def feed_unseen_turns(memory: NamespaceSession, context: RunContext, *, framework: str) -> int:
    """Add the turns ``context.agent_name`` has not seen to its conversation.

    Turns the agent took itself through this adapter are skipped (the SDK stored them).

    Args:
        memory: The agent's conversation.
        context: The run's context; its ``state`` holds the seen cursor.
        framework: This adapter's name.

    Returns:
        How many items were fed.
    """
    # Releases before the shared cursor kept the index of the last turn seen.
    adopt_cursor(context.state, context.agent_name, f"{agent_prefix(context.agent_name)}/seen", offset=1)
    items = input_items(context.unseen_history_messages(framework))
    if items:
        await memory.add_items(items)  # type: ignore[arg-type]  # Responses input item dicts
    return len(items)
