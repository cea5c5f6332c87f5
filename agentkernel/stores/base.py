"""The session store protocol: what every backend implements, and nothing more.

A store keeps encoded records (see :mod:`agentkernel.codec`) and applies each
:class:`~agentkernel.session.SessionChange` atomically, guarded by the version it expects. It also
keeps one short lease per session so that only one run works on a session at a time.

Every store, ours or a third party's, proves itself with the contract suite in
:mod:`agentkernel.testing.store_contract`.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentkernel.session import Session, SessionChange, SessionMeta

__all__ = ["SessionPage", "SessionStore", "decode_cursor", "encode_cursor"]


@dataclass(frozen=True, slots=True)
class SessionPage:
    """One page of a user's sessions, newest first.

    Attributes:
        sessions: The headers on this page.
        next_cursor: Pass to ``list_sessions`` for the next page; ``None`` on the last page.
    """

    sessions: list[SessionMeta]
    next_cursor: str | None = None


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live.

    Contract (checked by :class:`agentkernel.testing.store_contract.StoreContract`):

    * ``commit`` applies a change whole or not at all, only if the stored version equals
      ``change.expected_version`` (0: the session must not exist), else raises ``SessionConflict``.
      A session is created by committing its first change.
    * Appending turns does not rewrite earlier ones; ``load(last_turns=N)`` reads only N.
    * A session not written for ``ttl`` seconds (0: never) reads as absent.
    * A backend failure raises ``StoreUnavailable``, never "absent"; an unreadable record raises
      ``CorruptSession`` for that session only.
    * Leases are exclusive until they expire; only the token's holder renews or releases one.
    """

    async def load(self, session_id: str, *, last_turns: int | None = None) -> Session | None:
        """Load a session, or ``None`` if it does not exist or has expired.

        Args:
            session_id: The session id.
            last_turns: Load only the newest N turns (``None``: all of them).
        """
        ...

    async def commit(self, change: SessionChange) -> None:
        """Apply ``change`` atomically if the stored version is ``change.expected_version``.

        Raises:
            SessionConflict: the stored version differs; nothing was written.
            StoreUnavailable: the backend failed; nothing was written.
        """
        ...

    async def delete(self, session_id: str) -> bool:
        """Remove every record of a session. Returns whether it existed."""
        ...

    async def list_sessions(self, user_id: str, *, limit: int = 50, cursor: str | None = None) -> SessionPage:
        """A page of ``user_id``'s sessions, most recently updated first."""
        ...

    async def acquire_lease(self, session_id: str, token: str, ttl: float) -> bool:
        """Take the session's run lease for ``ttl`` seconds unless someone else holds it."""
        ...

    async def renew_lease(self, session_id: str, token: str, ttl: float) -> bool:
        """Extend a lease held under ``token``; ``False`` if it was lost."""
        ...

    async def release_lease(self, session_id: str, token: str) -> bool:
        """Release a lease held under ``token``; ``False`` if it was not held."""
        ...

    async def aclose(self) -> None:
        """Release connections the store owns."""
        ...

# Opaque cursors for listing sessions newest first: (updated_at, id) of the last row shown.


def encode_cursor(updated_at: float, session_id: str) -> str:
    """Encode the position after which the next page starts."""
    return base64.urlsafe_b64encode(json.dumps([updated_at, session_id]).encode()).decode().rstrip("=")


_MAX_CURSOR = 512
_CURSOR_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    """Decode a cursor made by :func:`encode_cursor`; ``None`` stays ``None``.

    Raises:
        ValueError: the cursor was not made by :func:`encode_cursor`.
    """
    if cursor is None:
        return None
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        updated_at, session_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(updated_at, bool) or not isinstance(updated_at, (int, float)) or not isinstance(session_id, str):
            raise ValueError("wrong types")
        position = float(updated_at)
        if not 0 <= position < 1e11 or not _CURSOR_ID.fullmatch(session_id):  # a Unix time; a session id
            raise ValueError("out of range")
        return position, session_id
    except (ValueError, TypeError, OverflowError) as exc:
        shown = cursor if len(cursor) <= 64 else cursor[:64] + "..."
        raise ValueError(f"invalid page cursor {shown!r}: pass the next_cursor of the previous page") from exc
