"""Turns of other agents, fed into an SDK agent's conversation as plain chat items.

An SDK agent's own turns are already in its conversation (the SDK wrote them through
:class:`~agentkernel_openai_agents.memory.NamespaceSession`). Turns that other agents took in the
same session, of this framework or another, are not: before each run, the ones the agent has not
seen yet become a user message (the turn's input) and an assistant message (its answer). The
index of the last turn fed is kept in the namespace under ``<agent>/seen``, so each turn is fed
once. Which turns an agent may see at all is the runner's choice (the agent's ``history`` option).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from agentkernel.transcript import Turn
from agentkernel_openai_agents.memory import NamespaceSession, agent_prefix

__all__ = ["feed_unseen_turns", "turn_items"]


def turn_items(turn: Turn) -> list[dict[str, Any]]:
    """The chat items that stand for ``turn``: its non-system input, then its answer."""
    items: list[dict[str, Any]] = [
        {"role": message.role if message.role == "user" else "assistant", "content": message.content}
        for message in turn.input
        if message.role in ("user", "assistant")
    ]
    if turn.output is not None:
        items.append({"role": "assistant", "content": turn.output})
    return items


async def feed_unseen_turns(
    memory: NamespaceSession,
    state: MutableMapping[str, Any],
    *,
    agent: str,
    framework: str,
    history: Sequence[Turn],
) -> int:
    """Add the turns of ``history`` that ``agent`` has not seen to its conversation.

    Turns the agent took itself through this adapter are skipped (the SDK stored them), and so
    are failed turns.

    Args:
        memory: The agent's conversation.
        state: The adapter's namespace, where the last fed index is kept.
        agent: The agent's name.
        framework: This adapter's name.
        history: Earlier turns the agent may see, oldest first.

    Returns:
        How many turns were fed.
    """
    key = f"{agent_prefix(agent)}/seen"
    seen = int(state.get(key, -1))
    fed = 0
    items: list[dict[str, Any]] = []
    for turn in history:
        if turn.index <= seen:
            continue
        seen = max(seen, turn.index)
        if turn.status == "error" or (turn.agent == agent and turn.framework == framework):
            continue
        items.extend(turn_items(turn))
        fed += 1
    if items:
        await memory.add_items(items)  # type: ignore[arg-type]  # EasyInputMessageParam dicts
    if history and seen != int(state.get(key, -1)):
        state[key] = seen
    return fed
