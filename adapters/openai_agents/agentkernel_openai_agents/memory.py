"""The Agents SDK's ``Session`` protocol over the adapter's namespace of an agentkernel session.

The SDK keeps a conversation as a list of input items (JSON data in the Responses format) and
reads and writes it through four async methods. :class:`NamespaceSession` keeps that list in the
``openai_agents`` namespace, one list per agent name, cut into chunks of ``chunk_size`` items
under their own keys, so adding items rewrites only the last chunk and a store commits only the
keys that changed::

    <agent>/count        how many items there are
    <agent>/items/<k>    items k*chunk_size .. (k+1)*chunk_size - 1

(``<agent>`` is the agent's name, percent-encoded so it holds no ``/``.) Nothing here imports the
SDK: the protocol is structural.

Example:
    >>> from agentkernel import Session
    >>> memory = NamespaceSession(Session().namespace("openai_agents"), "s1", agent="coach")
    >>> import asyncio
    >>> asyncio.run(memory.add_items([{"role": "user", "content": "hi"}]))
    >>> asyncio.run(memory.get_items())
    [{'role': 'user', 'content': 'hi'}]
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from agents.items import TResponseInputItem
    from agents.memory import SessionSettings

__all__ = ["DEFAULT_CHUNK_SIZE", "NamespaceSession", "agent_prefix"]

DEFAULT_CHUNK_SIZE = 64
"""Items per namespace key."""


def agent_prefix(agent: str) -> str:
    """The key prefix of ``agent``'s data in the namespace."""
    return quote(agent, safe="")


class NamespaceSession:
    """One agent's SDK conversation items, kept in a namespace mapping.

    Implements ``agents.memory.Session``; pass it as ``Runner.run(..., session=...)``. It only
    changes the mapping it is given, so nothing is stored until the kernel commits the run.

    Args:
        state: The namespace (any mutable mapping of JSON data).
        session_id: The id the SDK sees (the agentkernel session id).
        agent: Whose items these are; each agent name has its own list.
        chunk_size: Items per key.
        session_settings: The SDK's session settings (its ``limit`` applies when
            :meth:`get_items` gets none).

    Raises:
        ValueError: ``chunk_size`` is less than 1.
    """

    def __init__(
        self,
        state: MutableMapping[str, Any],
        session_id: str,
        *,
        agent: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        session_settings: SessionSettings | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.session_id = session_id
        self.session_settings = session_settings
        self._state = state
        self._prefix = agent_prefix(agent)
        self._chunk = chunk_size

    # ---------------------------------------------------------------- layout
    @property
    def count(self) -> int:
        """How many items the conversation holds."""
        return int(self._state.get(f"{self._prefix}/count", 0))

    def _set_count(self, count: int) -> None:
        self._state[f"{self._prefix}/count"] = count

    def _key(self, chunk: int) -> str:
        return f"{self._prefix}/items/{chunk}"

    def _load(self, chunk: int) -> list[Any]:
        return list(self._state.get(self._key(chunk), []))

    # -------------------------------------------------------------- protocol
    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest ``limit`` items in order, oldest first (all of them when ``limit`` is None).

        Reads only the chunks that hold those items.
        """
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        count = self.count
        start = 0 if limit is None else max(0, count - max(0, limit))
        if start >= count:
            return []
        items: list[Any] = []
        for chunk in range(start // self._chunk, (count - 1) // self._chunk + 1):
            items.extend(self._load(chunk))
        return items[start - (start // self._chunk) * self._chunk :]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append ``items``, rewriting only the last chunk and the new ones.

        Raises:
            InvalidValue: an item is not JSON data.
        """
        if not items:
            return
        count = self.count
        chunk = count // self._chunk
        current = self._load(chunk) if count % self._chunk else []
        for item in items:
            current.append(item)
            if len(current) == self._chunk:
                self._state[self._key(chunk)] = current
                chunk, current = chunk + 1, []
        if current:
            self._state[self._key(chunk)] = current
        self._set_count(count + len(items))

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the newest item, or ``None`` when there is none."""
        count = self.count
        if count == 0:
            return None
        chunk = (count - 1) // self._chunk
        current = self._load(chunk)
        item = current.pop()
        if current:
            self._state[self._key(chunk)] = current
        else:
            self._state.pop(self._key(chunk), None)
        self._set_count(count - 1)
        popped: TResponseInputItem = item
        return popped

    async def clear_session(self) -> None:
        """Remove every item of this agent (the deletes persist once the run commits)."""
        count = self.count
        for chunk in range((count + self._chunk - 1) // self._chunk):
            self._state.pop(self._key(chunk), None)
        self._state.pop(f"{self._prefix}/count", None)

    def __repr__(self) -> str:
        return f"NamespaceSession(session_id={self.session_id!r}, agent={self._prefix!r}, items={self.count})"
