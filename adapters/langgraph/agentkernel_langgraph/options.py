"""Per-agent options of the LangGraph adapter, given when an agent is registered.

Example:
    >>> GraphOptions.parse({"input_key": "chat"}).input_key
    'chat'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, cast

__all__ = ["DEFAULT_KEEP", "Durability", "GraphOptions"]

Durability = Literal["exit", "async", "sync"]

DEFAULT_KEEP = 4
"""Earlier checkpoints kept per checkpoint namespace, besides the latest one."""


@dataclass(frozen=True, slots=True)
class GraphOptions:
    """How the adapter runs one graph.

    Attributes:
        input_key: The state key the prompt's messages are written to (a messages channel).
        keep_checkpoints: Earlier checkpoints kept per checkpoint namespace besides the latest.
        durability: LangGraph's durability mode. ``exit`` (the default) checkpoints once, when
            the run ends, which is all the session keeps anyway since nothing of a run is
            committed before it ends; ``async`` or ``sync`` checkpoint every super-step, so the
            kept history reaches back into the turn (for time travel) at more cost per turn.
    """

    input_key: str = "messages"
    keep_checkpoints: int = DEFAULT_KEEP
    durability: Durability = "exit"

    @classmethod
    def parse(cls, options: Mapping[str, Any], *, keep_checkpoints: int = DEFAULT_KEEP) -> GraphOptions:
        """Options from an agent's registration.

        Args:
            options: The agent's options; keys not listed in :class:`GraphOptions` are refused.
            keep_checkpoints: The default when the options do not set it.

        Raises:
            ValueError: an unknown option, or a value of the wrong type or range.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(
                f"unknown LangGraph agent option(s) {', '.join(map(repr, unknown))}; "
                f"valid options: {', '.join(sorted(known))}"
            )
        input_key = options.get("input_key", "messages")
        if not isinstance(input_key, str) or not input_key:
            raise ValueError(f"input_key must be the name of a state key, got {input_key!r}")
        keep = options.get("keep_checkpoints", keep_checkpoints)
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep_checkpoints must be an integer of 0 or more, got {keep!r}")
        durability = options.get("durability", "exit")
        if durability not in ("exit", "async", "sync"):
            raise ValueError(f"durability must be 'exit', 'async' or 'sync', got {durability!r}")
        return cls(input_key=input_key, keep_checkpoints=keep, durability=cast(Durability, durability))
