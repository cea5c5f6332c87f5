"""The Session: one conversation, its transcript and the namespaced state of every framework in it.

A session keeps values in namespaces. Application code and tools use the shared namespace through
``session.get/set/delete``; each framework adapter owns a namespace of its own name
(``session.namespace("langgraph")``); the kernel keeps its own bookkeeping in the read-only
``agentkernel`` namespace. Values are JSON data or bytes and are checked when set.

A session object records what changed since it was loaded (sets, deletes, cleared namespaces,
new turns) so that :class:`~agentkernel.sessions.Sessions` can commit exactly that, guarded by the
version it was loaded at. How that change is encoded for a store, and how the runner works on a
copy of a session, is the kernel's business (``agentkernel._records``), not part of this class.

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

import functools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import Any, overload

from agentkernel._records import Pending, Raw, decode_turn, decode_value, encode_turn, encode_value, read_value
from agentkernel.codec import JSONData, check_text, from_data
from agentkernel.errors import CorruptSession, InvalidSessionId, ReadOnlyNamespace
from agentkernel.stores.base import SessionMeta
from agentkernel.transcript import Turn

__all__ = [
    "SHARED_NAMESPACE",
    "SYSTEM_NAMESPACE",
    "Namespace",
    "Session",
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
        self._state: dict[str, dict[str, Raw]] = {}
        self._sizes: dict[str, dict[str, int]] = {}
        self._turns: list[Turn | Raw] = []
        self._pending = Pending(meta_changed=name is not None or bool(self._meta.tags))

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
        if isinstance(turn, Raw):
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

        Both persist once committed, in the order the calls were made: values set after a
        ``clear`` are kept. A clear on a session object that was never loaded clears whatever the
        stored session holds when the object is committed (by ``runner.run`` or ``Sessions.save``).
        """
        self._pending.clear_all = True
        for name in list(self._state):
            if name != SYSTEM_NAMESPACE:
                self._clear(name)
        if transcript:
            self._clear_transcript()

    def _clear_transcript(self) -> None:
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
        return read_value(values[key].text, session_id=self.id)

    def _data(self, values: dict[str, Raw], key: str) -> JSONData:
        """The storable form of a value (bytes and ``$`` keys escaped), for export."""
        return decode_value(values[key].text, session_id=self.id)

    def _set(self, namespace: str, key: str, value: Any) -> None:
        key = _check_key(key)
        raw = encode_value(value, key=key)
        self._note_created(namespace, key)
        self._state.setdefault(namespace, {})[key] = Raw(raw)
        self._sizes.setdefault(namespace, {})[key] = len(key) + len(raw)
        self._pending.updated.setdefault(namespace, {})[key] = raw
        self._pending.deleted.get(namespace, set()).discard(key)

    def _note_created(self, namespace: str, key: str) -> None:
        # A key neither held now nor deleted earlier in this change is not in the store (or its
        # namespace was cleared in this change): if it is deleted again, nothing need reach the store.
        pending = self._pending
        if key not in self._state.get(namespace, {}) and key not in pending.deleted.get(namespace, ()):
            pending.created.setdefault(namespace, set()).add(key)

    def _delete(self, namespace: str, key: str) -> None:
        key = _check_key(key)
        self._state.get(namespace, {}).pop(key, None)
        self._sizes.get(namespace, {}).pop(key, None)
        self._pending.updated.get(namespace, {}).pop(key, None)
        if key not in self._pending.created.get(namespace, ()):  # else the store never held it: nothing to do
            self._pending.deleted.setdefault(namespace, set()).add(key)

    def _clear(self, namespace: str) -> None:
        self._state.pop(namespace, None)
        self._sizes.pop(namespace, None)
        self._pending.updated.pop(namespace, None)
        self._pending.deleted.pop(namespace, None)
        self._pending.created.pop(namespace, None)
        self._pending.cleared.add(namespace)

    # ------------------------------------------------------------ import/export
    def to_dict(self, *, unreadable: list[str] | None = None) -> dict[str, Any]:
        """The whole loaded session as JSON data, for export. Bytes appear in their stored form.

        Args:
            unreadable: If given, a stored value or turn that cannot be decoded is left out of the
                export and described here (one line each), instead of failing the whole export.

        Raises:
            CorruptSession: a stored record cannot be decoded and ``unreadable`` was not given.
        """
        def readable(read: Callable[[], Any], what: str) -> tuple[bool, Any]:
            try:
                return True, read()
            except CorruptSession as exc:
                if unreadable is None:
                    raise
                unreadable.append(f"{what}: {exc.detail}")
                return False, None

        state: dict[str, dict[str, Any]] = {}
        for name, values in self._state.items():
            for key in values:
                ok, data = readable(functools.partial(self._data, values, key), f"key {key!r} of namespace {name!r}")
                if ok:
                    state.setdefault(name, {})[key] = data
        turns: list[Any] = []
        loaded = len(self._turns) + len(self._pending.turns)
        first = self.turn_count - loaded  # transcript index of the first loaded turn
        for i in range(loaded):
            ok, turn = readable(functools.partial(self._turn_at, i), f"turn {first + i}")
            if ok:
                turns.append(turn.model_dump(mode="json"))
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
            "state": state,
            "turns": turns,
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
