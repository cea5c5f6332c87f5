"""The in-memory store: the default, for development, tests and single-process use.

Sessions are kept by owner and id together, as encoded records, exactly as a database would keep
them, so a value a real backend could not store fails here too, and a loaded session never aliases
the stored one. A cap on the number of sessions
evicts the least recently used, so a long-running process does not grow without bound. It is safe
to share between threads (one lock guards every operation) but not between processes.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from agentkernel.errors import SessionConflict
from agentkernel.stores.base import SessionChange, SessionMeta, SessionPage, StoredSession, decode_cursor, encode_cursor

__all__ = ["InMemoryOptions", "InMemoryStore"]


class InMemoryOptions(BaseModel):
    """Options of the in-memory store (``AK_SESSION__IN_MEMORY__*``)."""

    model_config = ConfigDict(extra="forbid")

    max_sessions: int = Field(
        default=10_000, ge=1, description="Sessions kept before the least recently used is evicted."
    )


_Key = tuple[str, str]
"""(owner, session id): the storage identity of a session."""


@dataclass(slots=True)
class _Entry:
    meta: str
    meta_obj: SessionMeta
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    turns: list[str] = field(default_factory=list)


class InMemoryStore:
    """Sessions in this process's memory.

    Args:
        ttl: Seconds of inactivity after which a session reads as absent (0: never).
        max_sessions: Sessions kept before the least recently used one is evicted.
        clock: Time source, for tests.

    Example:
        >>> store = InMemoryStore(ttl=3600)
    """

    options_model = InMemoryOptions

    def __init__(self, *, ttl: float = 0, max_sessions: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._max_sessions = max_sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[_Key, _Entry] = OrderedDict()
        self._leases: dict[_Key, tuple[str, float]] = {}

    @classmethod
    def from_options(cls, options: InMemoryOptions, *, ttl: float) -> InMemoryStore:
        """Build from validated settings."""
        return cls(ttl=ttl, max_sessions=options.max_sessions)

    def _live(self, key: _Key) -> _Entry | None:
        entry = self._sessions.get(key)
        if entry is None:
            return None
        if self._ttl and entry.meta_obj.updated_at + self._ttl <= self._clock():
            del self._sessions[key]
            return None
        self._sessions.move_to_end(key)
        return entry

    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> StoredSession | None:
        """See :meth:`SessionStore.load`."""
        with self._lock:
            entry = self._live((user_id, session_id))
            if entry is None:
                return None
            meta_raw = entry.meta
            values = {ns: dict(records) for ns, records in entry.values.items()}
            keep = len(entry.turns) if last_turns is None else min(last_turns, len(entry.turns))
            turns = entry.turns[len(entry.turns) - keep :]
        # Decode outside the lock: a corrupt record must not hold up other sessions.
        meta = SessionMeta.from_record(meta_raw, session_id=session_id, user_id=user_id)
        return StoredSession(meta, values, turns)

    async def commit(self, change: SessionChange) -> None:
        """See :meth:`SessionStore.commit`."""
        sid = change.session_id
        where = (change.user_id, sid)
        meta_raw = change.header
        with self._lock:
            entry = self._live(where)
            actual = None if entry is None else entry.meta_obj.version
            if (actual or 0) != change.expected_version:
                raise SessionConflict(sid, change.expected_version, actual)
            if entry is not None and entry.meta_obj.life != change.expected_life:
                raise SessionConflict(sid, change.expected_version, actual, another_life=True)
            if entry is None:
                entry = self._sessions[where] = _Entry(meta=meta_raw, meta_obj=change.meta)
                self._evict()
            for name in change.cleared_namespaces:
                entry.values.pop(name, None)
            if change.clear_transcript:
                entry.turns.clear()
            for name, keys in change.deleted.items():
                records = entry.values.get(name, {})
                for key in keys:
                    records.pop(key, None)
            for name, updates in change.updated.items():
                entry.values.setdefault(name, {}).update(updates)
            entry.values = {name: records for name, records in entry.values.items() if records}
            entry.turns.extend(change.turns)
            entry.meta = meta_raw
            entry.meta_obj = change.meta

    def _evict(self) -> None:
        # Least recently used first, but never a session a run holds: its lease and data stay until
        # the run ends (the cap may be exceeded by at most the number of runs in flight).
        excess = len(self._sessions) - self._max_sessions
        if excess <= 0:
            return
        now = self._clock()
        self._leases = {sid: held for sid, held in self._leases.items() if held[1] > now}
        victims = list(itertools.islice((sid for sid in self._sessions if sid not in self._leases), excess))
        for sid in victims:
            del self._sessions[sid]

    async def delete(self, user_id: str, session_id: str) -> bool:
        """See :meth:`SessionStore.delete`."""
        with self._lock:
            existed = self._live((user_id, session_id)) is not None
            self._sessions.pop((user_id, session_id), None)
            return existed

    async def list_sessions(self, user_id: str, *, limit: int = 50, cursor: str | None = None) -> SessionPage:
        """See :meth:`SessionStore.list_sessions`."""
        after = decode_cursor(cursor)
        with self._lock:
            now = self._clock()
            metas = [
                e.meta_obj
                for (owner, _), e in self._sessions.items()
                if owner == user_id and not (self._ttl and e.meta_obj.updated_at + self._ttl <= now)
            ]
        metas.sort(key=lambda m: (-m.updated_at, m.id))
        if after is not None:
            metas = [m for m in metas if (-m.updated_at, m.id) > (-after[0], after[1])]
        page = metas[:limit]
        more = len(metas) > limit
        return SessionPage(page, encode_cursor(page[-1].updated_at, page[-1].id) if more and page else None)

    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """See :meth:`SessionStore.acquire_lease`."""
        key = (user_id, session_id)
        with self._lock:
            now = self._clock()
            held = self._leases.get(key)
            if held is not None and held[1] > now and held[0] != token:
                return False
            self._leases[key] = (token, now + ttl)
            return True

    async def renew_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """See :meth:`SessionStore.renew_lease`."""
        key = (user_id, session_id)
        with self._lock:
            now = self._clock()
            held = self._leases.get(key)
            if held is None or held[0] != token or held[1] <= now:
                return False
            self._leases[key] = (token, now + ttl)
            return True

    async def lease_remaining(self, user_id: str, session_id: str) -> float | None:
        """See :meth:`SupportsLeaseInfo.lease_remaining`."""
        with self._lock:
            held = self._leases.get((user_id, session_id))
            left = None if held is None else held[1] - self._clock()
            return left if left is not None and left > 0 else None

    async def release_lease(self, user_id: str, session_id: str, token: str) -> bool:
        """See :meth:`SessionStore.release_lease`."""
        key = (user_id, session_id)
        with self._lock:
            held = self._leases.get(key)
            if held is None or held[0] != token:
                return False
            del self._leases[key]
            return True

    async def aclose(self) -> None:
        """Nothing to release."""

    # Test hook: how the contract suite corrupts a record of this backend.
    def _corrupt(self, user_id: str, session_id: str, raw: str) -> None:
        self._sessions[(user_id, session_id)].meta = raw
