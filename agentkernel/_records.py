"""Session plumbing: the records a session is stored as, and what the kernel does to session objects.

Applications never need this module; :class:`~agentkernel.session.Session` is their whole view.
:class:`~agentkernel.sessions.Sessions` uses it to turn a session's pending changes into an
encoded :class:`~agentkernel.stores.base.SessionChange` and a store's
:class:`~agentkernel.stores.base.StoredSession` back into a session; the runner uses it to work on
a copy of a session and carry a caller's changes across. Stores never import it: what they
receive is encoded already, and what they return is decoded here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentkernel.codec import JSONData, dump_record, dump_value, load_record, load_value
from agentkernel.errors import CorruptSession
from agentkernel.stores.base import SessionChange, StoredSession
from agentkernel.transcript import Turn

if TYPE_CHECKING:
    from agentkernel.session import Session

__all__ = [
    "Pending",
    "Raw",
    "absorb_pending",
    "adopt",
    "decode_turn",
    "decode_value",
    "encode_turn",
    "encode_value",
    "fork",
    "mark_committed",
    "pending_change",
    "read_value",
    "restore",
    "set_system",
]


# ------------------------------------------------------------------------------------ records
def encode_turn(turn: Turn) -> str:
    """Encode a turn as a versioned ``turn`` record."""
    return dump_record("turn", turn.model_dump(mode="json"))


def decode_turn(raw: str | bytes, *, session_id: str) -> Turn:
    """Decode a ``turn`` record.

    Raises:
        CorruptSession: the record is unreadable.
    """
    data = load_record(raw, "turn", session_id=session_id)
    try:
        return Turn.model_validate(data)
    except ValidationError as exc:
        raise CorruptSession(session_id, f"turn record is malformed: {exc.errors()[0]['msg']}") from None


def encode_value(value: object, *, key: str) -> str:
    """Check a value and encode it as a ``value`` record (see :func:`agentkernel.codec.dump_value`).

    Raises:
        InvalidValue: the value is not JSON data or bytes; the message names ``key``.
    """
    return dump_value(value, key=key)


def decode_value(raw: str | bytes, *, session_id: str) -> JSONData:
    """Decode a ``value`` record into its storable JSON form (bytes and ``$`` keys still escaped)."""
    data: JSONData = load_record(raw, "value", session_id=session_id)
    return data


def read_value(raw: str | bytes, *, session_id: str) -> Any:
    """Decode a ``value`` record into a fresh copy of the value."""
    return load_value(raw, session_id=session_id)


class Raw:
    """An encoded record: turns are decoded when first read, values each time they are read.

    A value is kept encoded because parsing its record again (in C) is cheaper than copying the
    decoded value in Python, and every read must hand out a fresh copy.
    """

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        self.text = text


@dataclass(slots=True)
class Pending:
    """What a session object changed since it was loaded or last committed (values encoded)."""

    cleared: set[str] = field(default_factory=set)
    updated: dict[str, dict[str, str]] = field(default_factory=dict)
    deleted: dict[str, set[str]] = field(default_factory=dict)
    turns: list[tuple[Turn, str]] = field(default_factory=list)
    meta_changed: bool = False
    clear_transcript: bool = False
    clear_all: bool = False  # ``clear()`` was called: replayed on a loaded copy, whatever it holds
    created: dict[str, set[str]] = field(default_factory=dict)
    """Keys set in this change that the store does not hold: deleting one again drops it entirely."""

    def __bool__(self) -> bool:
        return bool(
            self.cleared
            or self.updated
            or self.deleted
            or self.turns
            or self.meta_changed
            or self.clear_transcript
            or self.clear_all
        )

    def copy(self) -> Pending:
        """A deep copy, so a fork's changes do not touch the original's."""
        return Pending(
            cleared=set(self.cleared),
            updated={ns: dict(v) for ns, v in self.updated.items()},
            deleted={ns: set(v) for ns, v in self.deleted.items()},
            turns=list(self.turns),
            meta_changed=self.meta_changed,
            clear_transcript=self.clear_transcript,
            clear_all=self.clear_all,
            created={ns: set(v) for ns, v in self.created.items()},
        )


# ------------------------------------------------------------------------- store side
def restore(stored: StoredSession) -> Session:
    """Rebuild a session from the records a store returned; they are decoded when first read."""
    from agentkernel.session import Session  # session.py imports this module

    session = Session.__new__(Session)
    session._meta = stored.meta
    session._pending = Pending()
    session._state = {}
    session._sizes = {}
    for name, records in stored.values.items():
        session._state[name] = {key: Raw(raw) for key, raw in records.items()}
        session._sizes[name] = {key: len(key) + len(raw) for key, raw in records.items()}
    session._turns = [Raw(raw) for raw in stored.turns]
    return session


def pending_change(session: Session, *, now: float | None = None) -> SessionChange:
    """The session's pending changes as one encoded commit, guarded by its version.

    Stores apply the result with ``store.commit``; :func:`mark_committed` then folds it in.
    """
    pending = session._pending
    new_turn_bytes = sum(len(raw) for _, raw in pending.turns)
    # The first commit starts a new life of the id; every later one stays in it.
    life = session._meta.life if session._meta.version else uuid.uuid4().hex
    meta = replace(
        session._meta,
        life=life,
        updated_at=time.time() if now is None else now,
        version=session._meta.version + 1,
        turn_count=session.turn_count,
        turn_bytes=session._meta.turn_bytes + new_turn_bytes,
    )
    return SessionChange(
        meta=meta,
        header=meta.to_record(),
        expected_version=session._meta.version,
        expected_life=session._meta.life if session._meta.version else "",
        cleared_namespaces=frozenset(pending.cleared),
        deleted={ns: frozenset(keys) for ns, keys in pending.deleted.items() if keys},
        updated={ns: dict(values) for ns, values in pending.updated.items() if values},
        turns=tuple(raw for _, raw in pending.turns),
        clear_transcript=pending.clear_transcript,
    )


def mark_committed(session: Session, change: SessionChange) -> None:
    """Fold a change that a store has committed into the session and forget it as pending."""
    session._turns.extend(turn for turn, _ in session._pending.turns)
    session._meta = change.meta
    session._pending = Pending()


# ------------------------------------------------------------------------ runner side
def set_system(session: Session, key: str, value: Any) -> None:
    """Write into the kernel's own (read-only to everyone else) namespace."""
    from agentkernel.session import SYSTEM_NAMESPACE

    session._set(SYSTEM_NAMESPACE, key, value)


def fork(session: Session) -> Session:
    """A working copy whose changes do not touch ``session`` until :func:`adopt` ed."""
    twin = type(session).__new__(type(session))
    twin._meta = session._meta
    twin._state = {name: dict(values) for name, values in session._state.items()}
    twin._sizes = {name: dict(sizes) for name, sizes in session._sizes.items()}
    twin._turns = list(session._turns)
    twin._pending = session._pending.copy()
    return twin


def adopt(session: Session, other: Session) -> None:
    """Make ``session`` a view of ``other``'s contents (refreshes a caller's object after a run)."""
    session._meta = other._meta
    session._state = other._state
    session._sizes = other._sizes
    session._turns = other._turns
    session._pending = other._pending


def absorb_pending(session: Session, other: Session) -> None:
    """Replay ``other``'s uncommitted changes on top of ``session``.

    The runner carries what a caller set on a session object before ``run`` into the freshly
    loaded session this way, so both commit together.
    """
    theirs = other._pending
    if theirs.clear_all:  # first: whatever the caller set after its clear() is replayed below
        session.clear()
    for name in theirs.cleared:
        session._clear(name)
    for name, keys in theirs.deleted.items():
        for key in keys:
            session._delete(name, key)
    for name, values in theirs.updated.items():
        for key, raw in values.items():
            session._note_created(name, key)
            session._state.setdefault(name, {})[key] = other._state[name][key]
            session._sizes.setdefault(name, {})[key] = other._sizes[name][key]
            session._pending.updated.setdefault(name, {})[key] = raw
            session._pending.deleted.get(name, set()).discard(key)
    if theirs.clear_transcript:
        session._clear_transcript()  # the transcript only: namespace clears were replayed above
    for turn, _ in theirs.turns:
        session.append_turn(turn)
    if theirs.meta_changed:
        session._meta = replace(session._meta, name=other.name, tags=other.tags)
        session._pending.meta_changed = True
