"""Session access for application code, front ends and the runner: load, save, delete and list, per user.

This is the one place sessions are read from and written to a store: it encodes a session's
changes into the :class:`~agentkernel.stores.base.SessionChange` a store commits, and decodes what
a store loads. Every call is scoped to a user, and stores keep sessions by owner and id together:
another user's session of the same id is a different session, never seen, changed, locked or
revealed (no answer differs by whether it exists), so ids can neither be probed nor squatted.

Example:
    >>> import asyncio
    >>> from agentkernel.stores import InMemoryStore
    >>> sessions = Sessions(InMemoryStore())
    >>> session = Session(id="demo")
    >>> session.set("plan", "pro")
    >>> asyncio.run(sessions.save(session)).version
    1
"""

from __future__ import annotations

from agentkernel._records import mark_committed, pending_change, restore
from agentkernel.errors import SessionNotFound, SessionTooLarge
from agentkernel.session import DEFAULT_USER, Session, validate_session_id, validate_user_id
from agentkernel.stores.base import SessionPage, SessionStore, decode_cursor

__all__ = ["MAX_LAST_TURNS", "Sessions"]

MAX_LAST_TURNS = 1_000_000
"""The largest ``last_turns`` a load accepts; ``None`` asks for every turn."""

PROBE_USER = "#probe"
"""The owner :meth:`Sessions.check_store` reads under: not a valid user id, so no user is it."""


class Sessions:
    """Per-user session access over a store.

    Args:
        store: Where sessions live.
        max_bytes: Cap on one session's encoded size (0: none).
    """

    def __init__(self, store: SessionStore, *, max_bytes: int = 0) -> None:
        self.store = store
        self.max_bytes = max_bytes

    async def find(
        self, session_id: str, *, user_id: str = DEFAULT_USER, last_turns: int | None = None
    ) -> Session | None:
        """The user's session of that id, or ``None`` if it does not exist or expired.

        Raises:
            InvalidSessionId: the id or user id is malformed.
            ValueError: ``last_turns`` is negative or over :data:`MAX_LAST_TURNS`.
            CorruptSession: a record of the session is unreadable.
            StoreUnavailable: the store failed (never reported as ``None``).
        """
        return await self._load(validate_user_id(user_id), session_id, last_turns)

    async def open(self, session_id: str, *, user_id: str = DEFAULT_USER, last_turns: int | None = None) -> Session:
        """The user's session to run in: the stored one, or a new, unsaved one if there is none.

        Raises:
            InvalidSessionId: the id or user id is malformed.
            CorruptSession: a record of the session is unreadable.
            StoreUnavailable: the store failed.
        """
        session = await self._load(validate_user_id(user_id), session_id, last_turns)
        return Session(session_id, user_id=user_id) if session is None else session

    async def _load(self, user_id: str, session_id: str, last_turns: int | None) -> Session | None:
        if last_turns is not None and not 0 <= last_turns <= MAX_LAST_TURNS:
            raise ValueError(f"last_turns must be between 0 and {MAX_LAST_TURNS} (or None for all), got {last_turns}")
        stored = await self.store.load(user_id, validate_session_id(session_id), last_turns=last_turns)
        return None if stored is None else restore(stored)

    async def check_store(self, probe_id: str) -> None:
        """Read ``probe_id`` of an owner no user can be to check that the store answers.

        Raises:
            StoreUnavailable: the store failed.
        """
        await self.store.load(PROBE_USER, probe_id, last_turns=0)

    async def get(self, session_id: str, *, user_id: str = DEFAULT_USER, last_turns: int | None = None) -> Session:
        """Like :meth:`find`, but a missing session raises :class:`SessionNotFound`."""
        session = await self.find(session_id, user_id=user_id, last_turns=last_turns)
        if session is None:
            raise SessionNotFound(session_id)
        return session

    async def save(self, session: Session, *, user_id: str | None = None) -> Session:
        """Commit the session's pending changes, guarded by its version and life.

        The change is written to the session of ``session.user_id`` (storage is by owner and id),
        so a session object only ever writes into its own owner's session.

        Args:
            session: The session to commit.
            user_id: The user saving it, if the caller acts for one: it must own the session.

        Returns:
            The same session object, now at the new version.

        Raises:
            SessionNotFound: ``user_id`` is given and does not own the session; nothing was written.
            SessionConflict: the session changed since it was loaded, or was deleted (or expired)
                and created again since; nothing was written.
            SessionTooLarge: it would exceed the size cap; nothing was written.
            StoreUnavailable: the store failed; nothing was written.
        """
        if user_id is not None and validate_user_id(user_id) != session.user_id:
            raise SessionNotFound(session.id)
        if session.version and not session.has_changes:
            return session
        change = pending_change(session)
        # The cap counts the header too: a name or tags can be as big as any value.
        size = session.size_bytes + len(change.header)
        if self.max_bytes and size > self.max_bytes:
            raise SessionTooLarge(session.id, size, self.max_bytes)
        await self.store.commit(change)
        mark_committed(session, change)
        return session

    async def delete(self, session_id: str, *, user_id: str = DEFAULT_USER) -> None:
        """Delete a session and every record it used, readable or not (it is never loaded first).

        Raises:
            InvalidSessionId: the id or user id is malformed.
            SessionNotFound: no such session for this user.
            StoreUnavailable: the store failed.
        """
        if not await self.store.delete(validate_user_id(user_id), validate_session_id(session_id)):
            raise SessionNotFound(session_id)

    async def list(self, *, user_id: str = DEFAULT_USER, limit: int = 50, cursor: str | None = None) -> SessionPage:
        """A page of the user's sessions, most recently updated first.

        Raises:
            ValueError: ``limit`` is not 1-1000 or ``cursor`` is not one this store made.
        """
        validate_user_id(user_id)
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000, got {limit}")
        decode_cursor(cursor)  # a forged cursor is the caller's error on every store, never the store's
        return await self.store.list_sessions(user_id, limit=limit, cursor=cursor)
