"""The Session: one conversation, its transcript and the namespaced state of every framework in it.

A session keeps values in namespaces. Application code and tools use the shared namespace through
``session.get/set/delete``; each framework adapter owns a namespace of its own name
(``session.namespace("langgraph")``); the kernel keeps its own bookkeeping in the read-only
``agentkernel`` namespace. Values are JSON data or bytes and are checked when set.

A session object records what changed since it was loaded (sets, deletes, cleared namespaces,
new turns) so that a store can commit exactly that, guarded by the version it was loaded at.

Example:
    >>> session = Session(id="custom-session-id")
    >>> session.set("city", "Lisbon")
    >>> session.get("city")
    'Lisbon'
    >>> memory = session.namespace("langgraph")
    >>> memory["checkpoint"] = {"step": 1}
    >>> "city" in memory
    False
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

from pydantic import ValidationError

from agentkernel.codec import JSONData, check_text, dump_record, from_data, load_record, to_data
from agentkernel.errors import CorruptSession, InvalidSessionId, ReadOnlyNamespace
from agentkernel.transcript import Turn

__all__ = [
    "SHARED_NAMESPACE",
    "SYSTEM_NAMESPACE",
    "Namespace",
    "Session",
    "SessionChange",
    "SessionMeta",
    "validate_session_id",
    "validate_user_id",
]

SHARED_NAMESPACE = "shared"
"""The namespace ``session.get/set/delete`` use: application code and tools."""

SYSTEM_NAMESPACE = "agentkernel"
"""The kernel's own namespace: readable by everyone, writable only by the kernel."""

DEFAULT_USER = "anonymous"

_SESSION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_USER_ID = re.compile(r"[A-Za-z0-9._:@+-]{1,128}")
_NAMESPACE = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,63}")
_MAX_KEY_LENGTH = 512
_MISSING = object()


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` if it is 1-128 characters of ``[A-Za-z0-9._:-]``.

    Raises:
        InvalidSessionId: it is not.
    """
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        shown = repr(session_id) if len(repr(session_id)) <= 80 else repr(session_id)[:77] + "..."
        raise InvalidSessionId(
            f"invalid session id {shown}: use 1-128 characters from A-Z a-z 0-9 . _ : - "
            "(or leave it out to get a generated one)"
        )
    return session_id


def validate_user_id(user_id: object) -> str:
    """Return ``user_id`` if it is 1-128 characters of ``[A-Za-z0-9._:@+-]``.

    Raises:
        InvalidSessionId: it is not (user ids are part of how sessions are addressed).
    """
    if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
        raise InvalidSessionId(f"invalid user id {user_id!r}: use 1-128 characters from A-Z a-z 0-9 . _ : @ + -")
    return user_id


def _check_namespace(name: str) -> str:
    if not isinstance(name, str) or not _NAMESPACE.fullmatch(name):
        raise ValueError(
            f"invalid namespace {name!r}: use 1-64 characters from a-z 0-9 _ . - "
            "starting with a letter, digit or underscore"
        )
    return name


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY_LENGTH:
        raise KeyError(f"session keys are non-empty strings of at most {_MAX_KEY_LENGTH} characters, got {key!r}")
    return check_text(key, what=f"the session key {key!r}")


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

    def to_record(self) -> str:
        """Encode as a versioned ``meta`` record."""
        return dump_record(
            "meta",
            {
                "id": self.id,
                "user_id": self.user_id,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "version": self.version,
                "name": self.name,
                "tags": list(self.tags),
                "turn_count": self.turn_count,
                "turn_bytes": self.turn_bytes,
            },
        )

    @classmethod
    def from_record(cls, raw: str | bytes, *, session_id: str) -> SessionMeta:
        """Decode a ``meta`` record.

        Raises:
            CorruptSession: the record is unreadable or does not belong to ``session_id``.
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
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptSession(session_id, f"meta record is malformed: {exc!r}") from None
        if meta.id != session_id:
            raise CorruptSession(session_id, f"meta record belongs to session {meta.id!r}")
        return meta


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


def decode_value(raw: str | bytes, *, session_id: str) -> JSONData:
    """Decode a ``value`` record into its storable JSON form."""
    data: JSONData = load_record(raw, "value", session_id=session_id)
    return data


@dataclass(frozen=True, slots=True)
class SessionChange:
    """Everything one commit writes, already encoded. Stores apply it atomically or not at all.

    Stores apply, in this order: drop ``cleared_namespaces`` (and the transcript if
    ``clear_transcript``), delete ``deleted`` keys, write ``updated`` values, append ``turns`` (their
    indexes run up to ``meta.turn_count - 1``), write ``meta``, refresh the TTL. The write must be
    refused with :class:`~agentkernel.errors.SessionConflict` unless the stored version equals
    ``expected_version`` (0 means the session must not exist yet).

    Attributes:
        meta: The header after the commit (``version == expected_version + 1``).
        expected_version: The version the change was prepared against.
        cleared_namespaces: Namespaces emptied entirely.
        deleted: Keys removed, by namespace.
        updated: New or changed values as encoded ``value`` records, by namespace and key.
        turns: New turns as encoded ``turn`` records, in order.
        clear_transcript: Drop every earlier turn first.
    """

    meta: SessionMeta
    expected_version: int
    cleared_namespaces: frozenset[str] = frozenset()
    deleted: Mapping[str, frozenset[str]] = field(default_factory=dict)
    updated: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    turns: tuple[str, ...] = ()
    clear_transcript: bool = False

    @property
    def session_id(self) -> str:
        """The id of the session changed."""
        return self.meta.id

    @property
    def first_turn_index(self) -> int:
        """Transcript index of ``turns[0]``."""
        return self.meta.turn_count - len(self.turns)


class _Raw:
    """A stored record not decoded yet: sessions decode values and turns when first read."""

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        self.text = text


@dataclass(slots=True)
class _Pending:
    cleared: set[str] = field(default_factory=set)
    updated: dict[str, dict[str, str]] = field(default_factory=dict)
    deleted: dict[str, set[str]] = field(default_factory=dict)
    turns: list[tuple[Turn, str]] = field(default_factory=list)
    meta_changed: bool = False
    clear_transcript: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.cleared or self.updated or self.deleted or self.turns or self.meta_changed or self.clear_transcript
        )


class Session:
    """One conversation: metadata, namespaced state and the transcript of its turns.

    Args:
        id: The session id; a uuid4 is generated when left out. 1-128 characters of
            ``[A-Za-z0-9._:-]``.
        user_id: The owner. Other users can neither read nor list the session.
        name: Optional display name.
        tags: Optional labels.

    Raises:
        InvalidSessionId: ``id`` or ``user_id`` has the wrong length or characters.
    """

    __slots__ = ("_meta", "_pending", "_sizes", "_state", "_turns")

    def __init__(
        self,
        id: str | None = None,  # the seed API spells it ``id``
        *,
        user_id: str = DEFAULT_USER,
        name: str | None = None,
        tags: Iterable[str] = (),
    ) -> None:
        now = time.time()
        self._meta = SessionMeta(
            id=uuid.uuid4().hex if id is None else validate_session_id(id),
            user_id=validate_user_id(user_id),
            created_at=now,
            updated_at=now,
            name=name,
            tags=tuple(tags),
        )
        self._state: dict[str, dict[str, JSONData | _Raw]] = {}
        self._sizes: dict[str, dict[str, int]] = {}
        self._turns: list[Turn | _Raw] = []
        self._pending = _Pending(meta_changed=name is not None or bool(self._meta.tags))

    # ----------------------------------------------------------------- header
    @property
    def id(self) -> str:
        """The session id."""
        return self._meta.id

    @property
    def user_id(self) -> str:
        """The owner's id."""
        return self._meta.user_id

    @property
    def version(self) -> int:
        """The committed version this object is based on; 0 if it was never stored."""
        return self._meta.version

    @property
    def created_at(self) -> float:
        """Unix time the session was made."""
        return self._meta.created_at

    @property
    def updated_at(self) -> float:
        """Unix time of the last commit."""
        return self._meta.updated_at

    @property
    def meta(self) -> SessionMeta:
        """The header as last committed or loaded."""
        return self._meta

    @property
    def name(self) -> str | None:
        """Optional display name; setting it is committed with the next change."""
        return self._meta.name

    @name.setter
    def name(self, value: str | None) -> None:
        if value is not None:
            check_text(value, what="the session name")
        self._meta = replace(self._meta, name=value)
        self._pending.meta_changed = True

    @property
    def tags(self) -> tuple[str, ...]:
        """Optional labels; setting them is committed with the next change."""
        return self._meta.tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        tags = tuple(check_text(str(tag), what="a session tag") for tag in value)
        self._meta = replace(self._meta, tags=tags)
        self._pending.meta_changed = True

    # ------------------------------------------------------------- transcript
    @property
    def turns(self) -> Sequence[Turn]:
        """The loaded turns, oldest first, including turns not yet committed.

        A session loaded with ``last_turns=N`` holds only the newest N; ``turn_count`` is the total.

        Raises:
            CorruptSession: a stored turn cannot be decoded.
        """
        return tuple(self.recent_turns())

    def recent_turns(self) -> Sequence[Turn]:
        """Like :attr:`turns`, but each stored turn is decoded only when it is read.

        Adapters that need only the turns they have not seen yet use this to skip decoding the rest.
        """
        return _TurnView(self)

    def _turn_at(self, index: int) -> Turn:
        committed = len(self._turns)
        if index >= committed:
            return self._pending.turns[index - committed][0]
        turn = self._turns[index]
        if isinstance(turn, _Raw):
            turn = self._turns[index] = decode_turn(turn.text, session_id=self.id)
        return turn

    @property
    def turn_count(self) -> int:
        """Turns in the whole transcript, including turns not yet committed."""
        return self._meta.turn_count + len(self._pending.turns)

    def append_turn(self, turn: Turn) -> Turn:
        """Add a turn to the transcript; it is committed with the next change.

        Returns:
            A copy of the turn with its transcript ``index`` set.
        """
        numbered = turn.model_copy(update={"index": self.turn_count})
        self._pending.turns.append((numbered, encode_turn(numbered)))
        return numbered

    # ------------------------------------------------------------------ state
    def get(self, key: str, default: Any = None) -> Any:
        """Return a copy of the shared value under ``key``, or ``default``."""
        return self._get(SHARED_NAMESPACE, key, default)

    def set(self, key: str, value: Any) -> None:
        """Set a shared value. It must be JSON data or bytes.

        Raises:
            InvalidValue: the value is not JSON data or bytes; the message names the key.
        """
        self._set(SHARED_NAMESPACE, key, value)

    def delete(self, key: str) -> None:
        """Delete a shared key; the delete persists once committed. A missing key is fine."""
        self._delete(SHARED_NAMESPACE, key)

    def keys(self) -> list[str]:
        """The keys of the shared namespace."""
        return list(self._state.get(SHARED_NAMESPACE, {}))

    def namespace(self, name: str) -> Namespace:
        """A mutable mapping over one namespace (read-only for the kernel's own).

        Raises:
            ValueError: ``name`` is not a valid namespace name.
        """
        return Namespace(self, _check_namespace(name), read_only=name == SYSTEM_NAMESPACE)

    def namespaces(self) -> list[str]:
        """Names of the namespaces that hold at least one key."""
        return [name for name, values in self._state.items() if values]

    def clear(self, *, transcript: bool = False) -> None:
        """Empty every namespace but the kernel's own and, if asked, the transcript.

        Both persist once committed.
        """
        for name in list(self._state):
            if name != SYSTEM_NAMESPACE:
                self._clear(name)
        if transcript:
            self._turns.clear()
            self._pending.turns.clear()
            self._pending.clear_transcript = True
            self._meta = replace(self._meta, turn_count=0, turn_bytes=0)

    @property
    def has_changes(self) -> bool:
        """Whether anything changed since the session was loaded or last committed."""
        return bool(self._pending)

    @property
    def size_bytes(self) -> int:
        """Encoded size of the state plus the whole transcript, as the size cap counts it."""
        state = sum(sum(sizes.values()) for sizes in self._sizes.values())
        pending_turns = sum(len(raw) for _, raw in self._pending.turns)
        return state + self._meta.turn_bytes + pending_turns

    # ------------------------------------------------------ namespace plumbing
    def _get(self, namespace: str, key: str, default: Any) -> Any:
        values = self._state.get(namespace)
        if values is None or key not in values:
            return default
        return from_data(self._data(values, key))

    def _data(self, values: dict[str, JSONData | _Raw], key: str) -> JSONData:
        data = values[key]
        if isinstance(data, _Raw):
            data = values[key] = decode_value(data.text, session_id=self.id)
        return data

    def _set(self, namespace: str, key: str, value: Any) -> None:
        key = _check_key(key)
        data = to_data(value, key=key)
        raw = dump_record("value", data)
        self._state.setdefault(namespace, {})[key] = data
        self._sizes.setdefault(namespace, {})[key] = len(key) + len(raw)
        self._pending.updated.setdefault(namespace, {})[key] = raw
        self._pending.deleted.get(namespace, set()).discard(key)

    def _delete(self, namespace: str, key: str) -> None:
        key = _check_key(key)
        self._state.get(namespace, {}).pop(key, None)
        self._sizes.get(namespace, {}).pop(key, None)
        self._pending.updated.get(namespace, {}).pop(key, None)
        self._pending.deleted.setdefault(namespace, set()).add(key)

    def _clear(self, namespace: str) -> None:
        self._state.pop(namespace, None)
        self._sizes.pop(namespace, None)
        self._pending.updated.pop(namespace, None)
        self._pending.deleted.pop(namespace, None)
        self._pending.cleared.add(namespace)

    def _set_system(self, key: str, value: Any) -> None:
        """Write into the kernel's own namespace. For the kernel only."""
        self._set(SYSTEM_NAMESPACE, key, value)

    # --------------------------------------------------------- store plumbing
    def change(self, *, now: float | None = None) -> SessionChange:
        """The pending changes as one commit, guarded by this object's version.

        Stores apply the result with ``store.commit``; :meth:`mark_committed` then folds it in.
        """
        pending = self._pending
        new_turn_bytes = sum(len(raw) for _, raw in pending.turns)
        meta = replace(
            self._meta,
            updated_at=time.time() if now is None else now,
            version=self._meta.version + 1,
            turn_count=self.turn_count,
            turn_bytes=self._meta.turn_bytes + new_turn_bytes,
        )
        return SessionChange(
            meta=meta,
            expected_version=self._meta.version,
            cleared_namespaces=frozenset(pending.cleared),
            deleted={ns: frozenset(keys) for ns, keys in pending.deleted.items() if keys},
            updated={ns: dict(values) for ns, values in pending.updated.items() if values},
            turns=tuple(raw for _, raw in pending.turns),
            clear_transcript=pending.clear_transcript,
        )

    def mark_committed(self, change: SessionChange) -> None:
        """Fold a change that a store has committed into this object and forget it as pending."""
        self._turns.extend(turn for turn, _ in self._pending.turns)
        self._meta = change.meta
        self._pending = _Pending()

    def absorb_pending(self, other: Session) -> None:
        """Replay ``other``'s uncommitted changes on top of this session.

        The runner uses this to carry what a caller set on a session object before ``run`` into
        the freshly loaded session, so both commit together.
        """
        theirs = other._pending
        for name in theirs.cleared:
            self._clear(name)
        for name, keys in theirs.deleted.items():
            for key in keys:
                self._delete(name, key)
        for name, values in theirs.updated.items():
            for key, raw in values.items():
                self._state.setdefault(name, {})[key] = other._data(other._state[name], key)
                self._sizes.setdefault(name, {})[key] = other._sizes[name][key]
                self._pending.updated.setdefault(name, {})[key] = raw
                self._pending.deleted.get(name, set()).discard(key)
        if theirs.clear_transcript:
            self.clear(transcript=True)
        for turn, _ in theirs.turns:
            self.append_turn(turn)
        if theirs.meta_changed:
            self._meta = replace(self._meta, name=other.name, tags=other.tags)
            self._pending.meta_changed = True

    def adopt(self, other: Session) -> None:
        """Make this object a view of ``other``'s contents (used to refresh a caller's object)."""
        self._meta = other._meta
        self._state = other._state
        self._sizes = other._sizes
        self._turns = other._turns
        self._pending = other._pending

    def fork(self) -> Session:
        """A working copy whose changes do not touch this object until adopted."""
        twin = Session.__new__(Session)
        twin._meta = self._meta
        twin._state = {name: dict(values) for name, values in self._state.items()}
        twin._sizes = {name: dict(sizes) for name, sizes in self._sizes.items()}
        twin._turns = list(self._turns)
        twin._pending = _Pending(
            cleared=set(self._pending.cleared),
            updated={ns: dict(v) for ns, v in self._pending.updated.items()},
            deleted={ns: set(v) for ns, v in self._pending.deleted.items()},
            turns=list(self._pending.turns),
            meta_changed=self._pending.meta_changed,
            clear_transcript=self._pending.clear_transcript,
        )
        return twin

    @classmethod
    def restore(
        cls,
        meta: SessionMeta,
        values: Mapping[str, Mapping[str, str | bytes]],
        turns: Iterable[str | bytes],
    ) -> Session:
        """Rebuild a stored session from its encoded records. For stores.

        Records are decoded when first read, so a load costs the same whatever the session holds;
        a corrupt record raises :class:`CorruptSession` (naming the session) when it is read.

        Args:
            meta: The decoded header.
            values: Encoded ``value`` records by namespace and key.
            turns: Encoded ``turn`` records, oldest first (all, or only the newest N).

        """
        session = cls.__new__(cls)
        session._meta = meta
        session._pending = _Pending()
        session._state = {}
        session._sizes = {}
        for name, records in values.items():
            session._state[name] = {key: _Raw(raw) for key, raw in records.items()}
            session._sizes[name] = {key: len(key) + len(raw) for key, raw in records.items()}
        session._turns = [_Raw(raw) for raw in turns]
        return session

    # ------------------------------------------------------------ import/export
    def to_dict(self) -> dict[str, Any]:
        """The whole loaded session as JSON data, for export. Bytes appear in their stored form."""
        return {
            "format": "agentkernel.session",
            "v": 1,
            "id": self.id,
            "user_id": self.user_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
            "name": self.name,
            "tags": list(self.tags),
            "state": {
                name: {key: self._data(values, key) for key in values} for name, values in self._state.items() if values
            },
            "turns": [turn.model_dump(mode="json") for turn in self.turns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, user_id: str | None = None) -> Session:
        """A new, unsaved session holding everything :meth:`to_dict` exported.

        Raises:
            ValueError: ``data`` is not an exported session.
        """
        if data.get("format") != "agentkernel.session" or data.get("v") != 1:
            raise ValueError("not an agentkernel session export (expected format 'agentkernel.session', v 1)")
        session = cls(
            data["id"],
            user_id=user_id or data["user_id"],
            name=data.get("name"),
            tags=data.get("tags", ()),
        )
        created = float(data.get("created_at", session.created_at))
        session._meta = replace(session._meta, created_at=created, updated_at=created)
        for name, values in data.get("state", {}).items():
            _check_namespace(name)
            for key, stored in values.items():
                session._set(name, key, from_data(stored))
        for turn in data.get("turns", []):
            session.append_turn(Turn.model_validate(turn))
        return session

    def __repr__(self) -> str:
        return (
            f"Session(id={self.id!r}, user_id={self.user_id!r}, version={self.version}, "
            f"turns={self.turn_count}, namespaces={self.namespaces()!r})"
        )


class Namespace(MutableMapping[str, Any]):
    """A mutable mapping over one namespace of a session. Values are copied in and out.

    ``clear()`` is recorded as one operation, so it persists even for keys never loaded.
    """

    __slots__ = ("_name", "_read_only", "_session")

    def __init__(self, session: Session, name: str, *, read_only: bool = False) -> None:
        self._session = session
        self._name = name
        self._read_only = read_only

    @property
    def name(self) -> str:
        """The namespace's name."""
        return self._name

    def _writable(self) -> None:
        if self._read_only:
            raise ReadOnlyNamespace(
                f"namespace {self._name!r} belongs to the kernel and is read-only; "
                "write to your adapter's namespace or the shared one instead"
            )

    def __getitem__(self, key: str) -> Any:
        value = self._session._get(self._name, key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._writable()
        self._session._set(self._name, key, value)

    def __delitem__(self, key: str) -> None:
        self._writable()
        if key not in self._session._state.get(self._name, {}):
            raise KeyError(key)
        self._session._delete(self._name, key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._session._state.get(self._name, {})))

    def __len__(self) -> int:
        return len(self._session._state.get(self._name, {}))

    def __contains__(self, key: object) -> bool:
        return key in self._session._state.get(self._name, {})

    def clear(self) -> None:
        """Remove every key of this namespace; persists once committed."""
        self._writable()
        self._session._clear(self._name)

    def __repr__(self) -> str:
        return f"Namespace({self._name!r}, keys={list(self)!r})"


class _TurnView(Sequence[Turn]):
    """The transcript of a session as a sequence that decodes each stored turn on first read."""

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def __len__(self) -> int:
        return len(self._session._turns) + len(self._session._pending.turns)

    @overload
    def __getitem__(self, index: int) -> Turn: ...

    @overload
    def __getitem__(self, index: slice) -> list[Turn]: ...

    def __getitem__(self, index: int | slice) -> Turn | list[Turn]:
        if isinstance(index, slice):
            return [self._session._turn_at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("turn index out of range")
        return self._session._turn_at(index)
