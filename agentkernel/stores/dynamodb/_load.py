"""Reading one session from the DynamoDB table, as one consistent version.

A session is several items, read by a few strongly consistent requests: the header, the values of
the current generation, the newest turns, and the chunks of big records. A commit landing between
those requests could mix two versions, so the header is read again at the end; if the version
moved, the read starts over. An item that is missing or unreadable while the version stands still
is corruption, reported for that session only.
"""

from __future__ import annotations

from agentkernel.errors import CorruptSession, StoreUnavailable
from agentkernel.stores.base import SessionMeta, StoredSession
from agentkernel.stores.dynamodb._items import (
    Item,
    chunk_count,
    chunk_prefix,
    partition_key,
    turn_sk,
    unpack,
    value_prefix,
)
from agentkernel.stores.dynamodb._table import MetaState, Table

__all__ = ["Torn", "load_session", "read_body", "read_state"]

_ATTEMPTS = 5


class Torn(Exception):
    """An item the header refers to is missing: a commit moved on, or the session is damaged."""


def read_state(table: Table, session_id: str, item: Item) -> MetaState:
    """The header's bookkeeping, or :class:`CorruptSession` if it is malformed."""
    try:
        return MetaState.from_item(item)
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptSession(session_id, f"header item is malformed: {exc!r}") from None


def load_session(table: Table, user_id: str, session_id: str, *, last_turns: int | None) -> StoredSession | None:
    """Load a session (or ``None`` if absent or expired); see :meth:`SessionStore.load`."""
    pk = partition_key(user_id, session_id)
    for _ in range(_ATTEMPTS):
        item = table.get_meta(pk)
        if item is None:
            return None
        state = read_state(table, session_id, item)
        if state.expired(table.clock()):
            return None
        meta = SessionMeta.from_record(state.record, session_id=session_id, user_id=user_id)
        if meta.life != state.life:
            raise CorruptSession(session_id, "the header's record and its life attribute disagree")
        torn: Torn | None = None
        try:
            values, turns = read_body(table, pk, session_id, state, meta, last_turns)
        except Torn as exc:
            torn = exc
        check = table.get_meta(pk, projection=("ver", "gen"))
        if check is None or check["ver"]["N"] != str(state.version) or check["gen"]["S"] != state.gen:
            continue  # a commit or delete landed while reading: read again
        if torn is not None:
            raise CorruptSession(session_id, str(torn))
        return StoredSession(meta, values, turns)
    raise StoreUnavailable(
        f"session {session_id!r} changed during each of {_ATTEMPTS} reads in a row; retry the load"
    )


def read_body(
    table: Table, pk: str, session_id: str, state: MetaState, meta: SessionMeta, last_turns: int | None
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The values and the newest ``last_turns`` turns (``None``: all) of the header ``state``.

    Raises:
        Torn: an item the header refers to is missing.
        CorruptSession: an item is unreadable.
    """
    values: dict[str, dict[str, str]] = {}
    for item in table.query(pk, prefix=value_prefix(state.gen)):
        try:
            namespace, key, epoch = item["ns"]["S"], item["k"]["S"], int(item["e"]["N"])
        except (KeyError, ValueError) as exc:
            raise CorruptSession(session_id, f"value item {item['sk']['S']} is malformed: {exc!r}") from None
        if epoch != state.epoch(namespace):
            continue  # left over from before the namespace was cleared
        raw = unpack(item, _chunks(table, pk, state, item), session_id=session_id, what="value")
        values.setdefault(namespace, {})[key] = raw

    turns: list[str] = []
    total = meta.turn_count
    if total and last_turns != 0:
        first = 0 if last_turns is None else max(0, total - last_turns)
        epoch = state.transcript_epoch
        bounds = (turn_sk(state.gen, epoch, first), turn_sk(state.gen, epoch, total - 1))
        items = list(table.query(pk, between=bounds, newest_first=True, limit=total - first))
        if len(items) != total - first:
            raise Torn(f"the transcript should hold turns {first}-{total - 1} but {len(items)} were found")
        for item in reversed(items):
            turns.append(unpack(item, _chunks(table, pk, state, item), session_id=session_id, what="turn"))
    return values, turns


def _chunks(table: Table, pk: str, state: MetaState, item: Item) -> list[bytes]:
    count = chunk_count(item)
    if not count:
        return []
    nonce = item.get("cn", {}).get("S", "")
    chunks = [bytes(c["d"]["B"]) for c in table.query(pk, prefix=chunk_prefix(state.gen, nonce))]
    if len(chunks) != count:
        raise Torn(f"item {item['sk']['S']} has {len(chunks)} of its {count} chunks")
    return chunks
