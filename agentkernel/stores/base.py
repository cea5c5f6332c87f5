"""The session store protocol: what every backend implements, and nothing more.

A store keeps encoded records (see :mod:`agentkernel.codec`) and applies each
:class:`SessionChange` atomically, guarded by the version it expects. It also
keeps one short lease per session so that only one run works on a session at a time.

Every store, ours or a third party's, proves itself with the contract suite in
:mod:`agentkernel.testing.store_contract`.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol, TypeGuard, runtime_checkable

from agentkernel.codec import dump_record, load_record
from agentkernel.errors import CorruptSession

__all__ = [
    "SessionChange",
    "SessionMeta",
    "SessionPage",
    "SessionStore",
    "StoredSession",
    "SupportsLeaseInfo",
    "SupportsSetup",
    "decode_cursor",
    "encode_cursor",
    "supports_lease_info",
    "supports_setup",
]


@dataclass(frozen=True, slots=True)
class SessionMeta:
    """A session's header: everything but its state and turns. Listing returns these.

    Attributes:
        id: The session id.
        user_id: The owner.
        created_at: Unix time in seconds.
        updated_at: Unix time of the last commit; TTL counts from here.
        version: Grows by one with every commit; 0 for a session never stored.
        name: Optional display name.
        tags: Optional labels.
        turn_count: How many turns the transcript holds.
        turn_bytes: Encoded size of all turns, for the size cap.
        life: A random id drawn when the session is created (its first commit) and kept by every
            later commit, so each life of an id (until it is deleted or expires) is told apart
            from the next; empty for a session never stored.
    """

    id: str
    user_id: str
    created_at: float
    updated_at: float
    version: int = 0
    name: str | None = None
    tags: tuple[str, ...] = ()
    turn_count: int = 0
    turn_bytes: int = 0
    life: str = ""

    def to_record(self) -> str:
        """Encode as a versioned ``meta`` record."""
        return dump_record("meta", {**asdict(self), "tags": list(self.tags)})

    @classmethod
    def from_record(cls, raw: str | bytes, *, session_id: str, user_id: str | None = None) -> SessionMeta:
        """Decode a ``meta`` record.

        Args:
            raw: The record.
            session_id: The session it must belong to.
            user_id: The owner it must belong to (``None``: not checked).

        Raises:
            CorruptSession: the record is unreadable or does not belong to ``session_id`` (and ``user_id``).
        """
        data = load_record(raw, "meta", session_id=session_id)
        try:
            meta = cls(
                id=str(data["id"]),
                user_id=str(data["user_id"]),
                created_at=float(data["created_at"]),
                updated_at=float(data["updated_at"]),
                version=int(data["version"]),
                name=data["name"],
                tags=tuple(str(tag) for tag in data["tags"]),
                turn_count=int(data["turn_count"]),
                turn_bytes=int(data["turn_bytes"]),
                life=str(data["life"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptSession(session_id, f"meta record is malformed: {exc!r}") from None
        if meta.id != session_id:
            raise CorruptSession(session_id, f"meta record belongs to session {meta.id!r}")
        if user_id is not None and meta.user_id != user_id:
            raise CorruptSession(session_id, f"meta record of user {user_id!r} names another owner")
        if not meta.life:
            raise CorruptSession(session_id, "meta record has no life id")
        return meta


@dataclass(frozen=True, slots=True)
class SessionChange:
    """Everything one commit writes, already encoded. Stores apply it atomically or not at all.

    Stores apply, in this order: drop ``cleared_namespaces`` (and the transcript if
    ``clear_transcript``), delete ``deleted`` keys, write ``updated`` values, append ``turns`` (their
    indexes run up to ``meta.turn_count - 1``), write ``header``, refresh the TTL. The write must be
    refused with :class:`~agentkernel.errors.SessionConflict` unless the stored version equals
    ``expected_version`` (0 means the session must not exist yet) and, for a session that exists,
    its stored life equals ``expected_life`` (a change prepared in an earlier life of the id, before
    a delete or an expiry, never lands in a later one). The session is the one of ``meta.user_id``
    and ``meta.id``: the storage identity is owner and id together.

    Stores never encode or decode anything to apply it: every record is a string already, and
    ``meta`` carries the header's fields a store indexes by (owner, update time, version, turn count).

    Attributes:
        meta: The header after the commit (``version == expected_version + 1``).
        header: ``meta`` as its encoded ``meta`` record: what the store writes and returns on load.
        expected_version: The version the change was prepared against.
        expected_life: The life the change was prepared against (``meta.life`` unless the change
            creates the session; empty then).
        cleared_namespaces: Namespaces emptied entirely.
        deleted: Keys removed, by namespace.
        updated: New or changed values as encoded ``value`` records, by namespace and key.
        turns: New turns as encoded ``turn`` records, in order.
        clear_transcript: Drop every earlier turn first.
        commit_id: A random id of this change. A store that can remember recent ids recognises a
            change sent again after its reply was lost and reports success instead of a conflict.
    """

    meta: SessionMeta
    header: str
    expected_version: int
    expected_life: str = ""
    cleared_namespaces: frozenset[str] = frozenset()
    deleted: Mapping[str, frozenset[str]] = field(default_factory=dict)
    updated: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    turns: tuple[str, ...] = ()
    clear_transcript: bool = False
    commit_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def session_id(self) -> str:
        """The id of the session changed."""
        return self.meta.id

    @property
    def user_id(self) -> str:
        """The owner of the session changed."""
        return self.meta.user_id

    @property
    def first_turn_index(self) -> int:
        """Transcript index of ``turns[0]``."""
        return self.meta.turn_count - len(self.turns)


@dataclass(frozen=True, slots=True)
class StoredSession:
    """What ``SessionStore.load`` returns: a session's records as they were committed, not decoded.

    The kernel decodes values and turns when they are first read, so a load costs the same whatever
    the session holds and a corrupt record raises :class:`~agentkernel.errors.CorruptSession`
    (naming the session) when it is read, not when it is loaded.

    Attributes:
        meta: The decoded header (stores decode it with :meth:`SessionMeta.from_record`).
        values: Encoded ``value`` records by namespace and key, as committed in ``SessionChange.updated``.
        turns: Encoded ``turn`` records, oldest first: all of them, or only the newest N asked for.
    """

    meta: SessionMeta
    values: Mapping[str, Mapping[str, str | bytes]] = field(default_factory=dict)
    turns: Sequence[str | bytes] = ()



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

    A session is stored under its owner and its id together (``user_id``, ``session_id``): two
    users may each have a session ``chat-1``, and nothing one of them does to theirs (load, commit,
    delete, lease) touches, reveals or waits for the other's.

    Contract (checked by :class:`agentkernel.testing.store_contract.StoreContract`):

    * ``commit`` applies a change whole or not at all, only if the stored version equals
      ``change.expected_version`` (0: the session must not exist) and the stored life equals
      ``change.expected_life``, else raises ``SessionConflict``. A session is created by
      committing its first change, under ``change.meta.user_id``.
    * Appending turns does not rewrite earlier ones; ``load(last_turns=N)`` reads only N.
    * A session not written for ``ttl`` seconds (0: never) reads as absent.
    * A backend failure raises ``StoreUnavailable``, never "absent"; an unreadable record, or a
      session missing some of its parts, raises ``CorruptSession`` for that session only.
    * ``delete`` works whatever the session's records hold, corrupt ones included.
    * Leases are per owner and session, exclusive until they expire; only the token's holder
      renews or releases one.
    """

    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> StoredSession | None:
        """Read a session's records, or ``None`` if it does not exist or has expired.

        The header is decoded (a corrupt one raises ``CorruptSession``); values and turns are
        returned as stored, for the kernel to decode when they are read.

        Args:
            user_id: The owner.
            session_id: The session id.
            last_turns: Load only the newest N turns (``None``: all of them).
        """
        ...

    async def commit(self, change: SessionChange) -> None:
        """Apply ``change`` atomically if the stored version and life are the expected ones.

        Raises:
            SessionConflict: the stored version or life differs; nothing was written.
            CorruptSession: the session's records are damaged; nothing was written.
            StoreUnavailable: the backend failed; nothing was written.
        """
        ...

    async def delete(self, user_id: str, session_id: str) -> bool:
        """Remove every record of a session, readable or not. Returns whether it existed."""
        ...

    async def list_sessions(self, user_id: str, *, limit: int = 50, cursor: str | None = None) -> SessionPage:
        """A page of ``user_id``'s sessions, most recently updated first."""
        ...

    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """Take the session's run lease for ``ttl`` seconds unless someone else holds it."""
        ...

    async def renew_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """Extend a lease held under ``token``; ``False`` if it was lost."""
        ...

    async def release_lease(self, user_id: str, session_id: str, token: str) -> bool:
        """Release a lease held under ``token``; ``False`` if it was not held."""
        ...

    async def aclose(self) -> None:
        """Release connections the store owns."""
        ...


# ------------------------------------------------------------------------------ optional abilities
# A store that can do more than the protocol declares it by having the method; the kernel asks with
# the TypeGuard function, never with getattr, so the ability is typed where it is used.


@runtime_checkable
class SupportsSetup(Protocol):
    """A store whose backend needs a one-time setup (a table, an index) before first use.

    ``agentkernel store setup`` runs it; running it again must change nothing.
    """

    async def setup(self) -> bool:
        """Create what the store needs if it is missing. Returns whether anything was created.

        Raises:
            ConfigError: something of that name exists with another layout.
            StoreUnavailable: the backend could not be reached or refused.
        """
        ...


def supports_setup(store: object) -> TypeGuard[SupportsSetup]:
    """Whether ``store`` has a one-time :meth:`SupportsSetup.setup`."""
    return isinstance(store, SupportsSetup)


@runtime_checkable
class SupportsLeaseInfo(Protocol):
    """A store that can tell how long a session's current run lease has left.

    The runner asks only when it refuses a busy session, so that ``Retry-After`` says the truth.
    """

    async def lease_remaining(self, user_id: str, session_id: str) -> float | None:
        """Seconds until the session's current lease expires, whoever holds it; ``None`` if none.

        Raises:
            StoreUnavailable: the backend could not be reached.
        """
        ...


def supports_lease_info(store: object) -> TypeGuard[SupportsLeaseInfo]:
    """Whether ``store`` has :meth:`SupportsLeaseInfo.lease_remaining`."""
    return isinstance(store, SupportsLeaseInfo)


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
