"""One commit to the DynamoDB table: a version-checked ``TransactWriteItems`` that flips the header.

A commit of up to 99 items is one transaction: the header (``Put`` with a condition on its version
and on the session's life, ``change.expected_life``, so a change from an earlier life of the id
is refused even when the versions agree), one ``Put`` per new turn and per set value, one ``Delete`` per deleted key.
Clearing a namespace or the transcript only moves an epoch in the header; creating a session over
an expired one draws a new generation. What those make unreachable, and chunks of overwritten
values, is deleted after the transaction succeeds (see :class:`Cleanup`), best effort: nothing
ever reads it again.

Everything a reader could see changes in that one transaction. What must exist before it is
*staged* under names no header refers to yet, so a failed or refused commit leaves nothing a
reader can see, and is deleted again at once:

* records too big for one item are split into chunk items under a fresh random nonce;
* a commit of more items than one transaction holds (an import, a huge run) writes the whole
  session after the change into a fresh generation, in as many batches as it takes; the
  transaction then only puts the header, pointing at the new generation, and the old generation
  is purged afterwards.

Each header keeps the ids of the latest commits, so a change whose reply was lost and is sent
again (by boto3's retries or by a caller) is recognised as applied, also when another commit
landed in between.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from agentkernel.errors import CorruptSession, SessionConflict, StoreUnavailable
from agentkernel.stores.base import SessionChange, SessionMeta
from agentkernel.stores.dynamodb._client import CommitTooLarge, boto_errors, error_code
from agentkernel.stores.dynamodb._items import (
    META_SK,
    STAGED_AT,
    Item,
    Packed,
    chunk_sk,
    gen_prefix,
    item_size,
    namespace_prefix,
    new_gen,
    pack,
    partition_key,
    payload_attrs,
    turn_prefix,
    turn_sk,
    value_sk,
)
from agentkernel.stores.dynamodb._load import Torn, read_body, read_state
from agentkernel.stores.dynamodb._table import MetaState, Table

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_TRANSACTION_ITEMS",
    "RECENT_COMMITS",
    "Cleanup",
    "CommitPlan",
    "commit_change",
    "run_cleanup",
]

logger = logging.getLogger(__name__)

MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit on the actions of one ``TransactWriteItems``."""

MAX_HEADER_BYTES = 390_000
"""The largest header item written (DynamoDB's item limit is 400 KB, attribute names included)."""

RECENT_COMMITS = 16
"""How many commit ids the header keeps, to recognise a change sent again after a lost reply."""

_TRANSACTION_BYTES = 3_500_000
"""What the payloads of one transaction may add up to (DynamoDB's limit is 4 MB, keys included)."""


@dataclass(frozen=True, slots=True)
class CommitPlan:
    """How records are stored: the store's size and TTL options.

    Attributes:
        ttl: Seconds of inactivity before a session expires (0: never).
        slack: Seconds the per-item ``ttl`` attribute runs past the session's expiry.
        chunk_size: Bytes per item for records that must be split.
        compress_over: Records longer than this are zlib-compressed when that helps.
    """

    ttl: float
    slack: float
    chunk_size: int
    compress_over: int


@dataclass(slots=True)
class Cleanup:
    """What a commit made unreachable, to delete afterwards (best effort).

    Attributes:
        session_id: The session's partition key (owner and id).
        gen: Its generation after the commit.
        prefixes: Sort-key prefixes whose items (and their chunks) are dead.
        chunks: Chunks of overwritten or deleted values: (nonce, count).
        refresh_ttl: Bring every item's ``ttl`` up to this (``None``: nothing to do).
        remove_ttl: Remove the ``ttl`` attribute from every item (the store no longer expires).
    """

    session_id: str
    gen: str
    prefixes: list[str] = field(default_factory=list)
    chunks: list[tuple[str, int]] = field(default_factory=list)
    refresh_ttl: int | None = None
    remove_ttl: bool = False


@dataclass(slots=True)
class _Draft:
    """A commit being prepared: the header's bookkeeping after it, and what it writes."""

    state: MetaState
    old_gen: str | None
    item_ttl: int | None
    actions: list[dict[str, Any]] = field(default_factory=list)
    staged: list[Item] = field(default_factory=list)


def commit_change(table: Table, change: SessionChange, plan: CommitPlan) -> Cleanup:
    """Apply ``change`` atomically if the stored version is ``change.expected_version``.

    A change whose id the header lists among the latest commits was applied already (its reply
    was lost); it is reported as applied and nothing is written.

    Returns:
        What to clean up afterwards (see :func:`run_cleanup`).

    Raises:
        SessionConflict: the stored version differs, or another transaction was on the session.
        CommitTooLarge: the header item (name, tags, bookkeeping) would be over DynamoDB's limit.
        botocore errors: anything else (the store translates them).
    """
    sid = change.session_id
    pk = partition_key(change.user_id, sid)
    now = table.clock()
    current = table.get_meta(pk)
    old = read_state(table, sid, current) if current is not None else None
    live = old is not None and not old.expired(now)
    if live and old is not None and change.commit_id in old.commits:
        return Cleanup(session_id=pk, gen=old.gen)
    actual = old.version if live and old is not None else None
    if (actual or 0) != change.expected_version:
        raise SessionConflict(sid, change.expected_version, actual)
    if live and old is not None and old.life != change.expected_life:
        raise SessionConflict(sid, change.expected_version, actual, another_life=True)

    item_ttl = int(now + plan.ttl + plan.slack) if plan.ttl else None
    deletes = [
        (namespace, key)
        for namespace, keys in sorted(change.deleted.items())
        if namespace not in change.cleared_namespaces
        for key in sorted(keys)
    ]
    updates = [
        (namespace, key, raw) for namespace, values in sorted(change.updated.items()) for key, raw in values.items()
    ]
    total = 1 + len(deletes) + len(updates) + len(change.turns)
    if total > MAX_TRANSACTION_ITEMS:
        draft, cleanup = _rewrite(table, change, plan, old if live else None, item_ttl)
    else:
        draft, cleanup = _in_place(table, change, plan, old if live else None, item_ttl, deletes, updates)
    if old is not None and not live:
        cleanup.prefixes.append(gen_prefix(old.gen))  # an expired earlier life of this id
    state = draft.state
    if plan.ttl and live and (state.floor is None or state.floor < now + plan.ttl + plan.slack / 2):
        cleanup.refresh_ttl = item_ttl  # the oldest items would outlive the session by too little
    elif not plan.ttl and state.floor is not None:
        cleanup.remove_ttl = True
    state.commits = (*(old.commits if live and old is not None else ())[-(RECENT_COMMITS - 1) :], change.commit_id)
    draft.actions.append(_header_put(table, change, draft, now=now, ttl=plan.ttl))
    _write(table, change, draft)
    return cleanup


def _in_place(
    table: Table,
    change: SessionChange,
    plan: CommitPlan,
    old: MetaState | None,
    item_ttl: int | None,
    deletes: list[tuple[str, str]],
    updates: list[tuple[str, str, str]],
) -> tuple[_Draft, Cleanup]:
    """A commit that fits one transaction: new items in the current generation and epochs."""
    pk = partition_key(change.user_id, change.session_id)
    if old is not None:
        state = replace(old, namespace_epochs=dict(old.namespace_epochs), big=dict(old.big))
    else:
        state = MetaState(version=0, gen=new_gen(), record="", floor=item_ttl)
    draft = _Draft(state=state, old_gen=old.gen if old is not None else None, item_ttl=item_ttl)
    cleanup = Cleanup(session_id=pk, gen=state.gen)
    version = change.meta.version

    if change.clear_transcript:
        if old is not None:
            cleanup.prefixes.append(turn_prefix(state.gen, state.transcript_epoch))
        state.transcript_epoch = version
    for namespace in sorted(change.cleared_namespaces):
        if old is not None:
            dead = namespace_prefix(state.gen, namespace, state.epoch(namespace))
            cleanup.prefixes.append(dead)
            for sk in [sk for sk in state.big if sk.startswith(dead)]:
                cleanup.chunks.append(state.big.pop(sk))
        state.namespace_epochs[namespace] = version

    total = 1 + len(deletes) + len(updates) + len(change.turns)
    room = _TRANSACTION_BYTES - item_size(_header_item(table, change, draft, now=0.0, ttl=0.0))
    inline_max = max(1024, min(plan.chunk_size, room // total))
    for namespace, key in deletes:
        sk = value_sk(state.gen, namespace, state.epoch(namespace), key)
        draft.actions.append({"Delete": {"TableName": table.name, "Key": table.key(pk, sk)}})
        if sk in state.big:
            cleanup.chunks.append(state.big.pop(sk))
    for namespace, key, raw in updates:
        item = _value_item(table, change, plan, draft, namespace, key, raw, inline_max=inline_max, cleanup=cleanup)
        draft.actions.append({"Put": {"TableName": table.name, "Item": item}})
    for offset, raw in enumerate(change.turns):
        item = _turn_item(table, change, plan, draft, change.first_turn_index + offset, raw, inline_max=inline_max)
        draft.actions.append({"Put": {"TableName": table.name, "Item": item}})
    return draft, cleanup


def _rewrite(
    table: Table, change: SessionChange, plan: CommitPlan, old: MetaState | None, item_ttl: int | None
) -> tuple[_Draft, Cleanup]:
    """A commit too big for one transaction: the whole session after it, staged in a fresh generation.

    The staged items are invisible until the header (the transaction's only action) points at the
    new generation; the old generation is purged afterwards.
    """
    sid = change.session_id
    pk = partition_key(change.user_id, sid)
    values, turns = _read_all(table, pk, change, old) if old is not None else ({}, [])
    for namespace in change.cleared_namespaces:
        values.pop(namespace, None)
    if change.clear_transcript:
        turns = []
    for namespace, keys in change.deleted.items():
        for key in keys:
            values.get(namespace, {}).pop(key, None)
    for namespace, updated in change.updated.items():
        values.setdefault(namespace, {}).update(updated)
    turns.extend(change.turns)
    if len(turns) != change.meta.turn_count:
        detail = f"the transcript holds {len(turns)} turns but the header counts {change.meta.turn_count}"
        raise CorruptSession(sid, detail)

    state = MetaState(version=0, gen=new_gen(), record="", floor=item_ttl)
    draft = _Draft(state=state, old_gen=old.gen if old is not None else None, item_ttl=item_ttl)
    cleanup = Cleanup(session_id=pk, gen=state.gen)
    if old is not None:
        cleanup.prefixes.append(gen_prefix(old.gen))
    for namespace in sorted(values):
        for key, raw in sorted(values[namespace].items()):
            item = _value_item(
                table, change, plan, draft, namespace, key, raw, inline_max=plan.chunk_size, cleanup=None
            )
            draft.staged.append(item)
    for index, raw in enumerate(turns):
        draft.staged.append(_turn_item(table, change, plan, draft, index, raw, inline_max=plan.chunk_size))
    return draft, cleanup


def _read_all(
    table: Table, pk: str, change: SessionChange, old: MetaState
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Every value and turn of the stored session (as of ``old``), for a rewrite."""
    sid = change.session_id
    meta = SessionMeta.from_record(old.record, session_id=sid, user_id=change.user_id)
    try:
        return read_body(table, pk, sid, old, meta, None)
    except Torn as exc:
        seen = _stored_state(table, pk, sid)
        if seen is None or seen.version != old.version or seen.gen != old.gen:
            raise SessionConflict(sid, old.version, None if seen is None else seen.version) from None
        raise CorruptSession(sid, str(exc)) from None


def _value_item(
    table: Table,
    change: SessionChange,
    plan: CommitPlan,
    draft: _Draft,
    namespace: str,
    key: str,
    raw: str,
    *,
    inline_max: int,
    cleanup: Cleanup | None,
) -> Item:
    state = draft.state
    epoch = state.epoch(namespace)
    sk = value_sk(state.gen, namespace, epoch, key)
    record = pack(raw, compress_over=plan.compress_over, inline_max=inline_max, chunk_size=plan.chunk_size)
    head = {"ns": {"S": namespace}, "k": {"S": key}, "e": {"N": str(epoch)}}
    pk = partition_key(change.user_id, change.session_id)
    item = _item(table, pk, sk, record, head, draft.item_ttl, draft.staged, state.gen)
    if sk in state.big:
        dead = state.big.pop(sk)
        if cleanup is not None:
            cleanup.chunks.append(dead)
    if record.chunks:
        state.big[sk] = (record.nonce, len(record.chunks))
    return item


def _turn_item(
    table: Table, change: SessionChange, plan: CommitPlan, draft: _Draft, index: int, raw: str, *, inline_max: int
) -> Item:
    state = draft.state
    sk = turn_sk(state.gen, state.transcript_epoch, index)
    record = pack(raw, compress_over=plan.compress_over, inline_max=inline_max, chunk_size=plan.chunk_size)
    pk = partition_key(change.user_id, change.session_id)
    return _item(table, pk, sk, record, {}, draft.item_ttl, draft.staged, state.gen)


def _write(table: Table, change: SessionChange, draft: _Draft) -> None:
    """Write the staged items, then the transaction; on failure delete what was staged.

    The outcome is decided before this returns or raises: a transaction DynamoDB refused is
    checked against the header's recent commit ids (boto3 may have sent it before, and the earlier
    send may have applied); one without an answer is looked up the same way.
    """
    sid = change.session_id
    pk = partition_key(change.user_id, sid)
    if draft.staged:
        staged_at = {"N": str(int(table.clock()))}  # lets the sweeper tell an abandoned attempt from one in flight
        for item in draft.staged:
            item[STAGED_AT] = staged_at
        try:
            table.batch_put(draft.staged)
        except BaseException:
            _forget(table, pk, draft.staged)
            raise
    errors = boto_errors()
    try:
        table.client.transact_write_items(TransactItems=draft.actions, ClientRequestToken=str(uuid.uuid4()))
    except (errors.ClientError, errors.BotoCoreError) as exc:
        # A ClientError is DynamoDB's answer to the last send, but boto3 may have sent the same
        # transaction before and lost that reply; a BotoCoreError is no answer at all (unless the
        # last try never connected). Either way the header says whether it applied.
        never_sent = isinstance(exc, errors.ConnectionError)
        answered = isinstance(exc, errors.ClientError)
        try:
            seen = _stored_state(table, pk, sid)
        except (errors.ClientError, errors.BotoCoreError):
            if never_sent:
                _forget(table, pk, draft.staged)
            raise exc from None
        if seen is not None and change.commit_id in seen.commits:
            return  # an earlier send of this very transaction applied it; its reply was lost
        if answered or never_sent or _cannot_apply(seen, change, draft, table.clock()):
            _forget(table, pk, draft.staged)
        if error_code(exc) == "TransactionCanceledException":
            reasons = [reason.get("Code", "") for reason in getattr(exc, "response", {}).get("CancellationReasons", [])]
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons):
                actual = None if seen is None or seen.expired(table.clock()) else seen.version
                raise SessionConflict(sid, change.expected_version, actual) from None
        raise


def _cannot_apply(seen: MetaState | None, change: SessionChange, draft: _Draft, now: float) -> bool:
    """Whether the transaction's condition is false now and stays false, so it can never apply."""
    if change.expected_version == 0:
        return seen is not None and not seen.expired(now)  # (until that session expires, much later)
    return seen is None or seen.version != change.expected_version or seen.gen != draft.old_gen


def _stored_state(table: Table, pk: str, sid: str) -> MetaState | None:
    item = table.get_meta(pk)
    return None if item is None else read_state(table, sid, item)


def _forget(table: Table, sid: str, staged: list[Item]) -> None:
    """Delete items staged by a commit that did not apply (best effort; nothing refers to them)."""
    if not staged:
        return
    errors = boto_errors()
    try:
        table.batch_delete(sid, [item["sk"]["S"] for item in staged])
    except (errors.ClientError, errors.BotoCoreError, StoreUnavailable) as exc:
        logger.warning("could not delete %d unused staged items of session %s: %s", len(staged), sid, exc)
def _item(
    table: Table, pk: str, sk: str, record: Packed, attrs: Item, item_ttl: int | None, staged: list[Item], gen: str
) -> Item:
    item = {**table.key(pk, sk), **attrs, **payload_attrs(record)}
    if item_ttl is not None:
        item["ttl"] = {"N": str(item_ttl)}
    for index, chunk in enumerate(record.chunks):
        part: Item = {**table.key(pk, chunk_sk(gen, record.nonce, index)), "d": {"B": chunk}}
        if item_ttl is not None:
            part["ttl"] = {"N": str(item_ttl)}
        staged.append(part)
    return item


def _header_item(table: Table, change: SessionChange, draft: _Draft, *, now: float, ttl: float) -> Item:
    meta, state = change.meta, draft.state
    item: Item = {
        **table.key(partition_key(meta.user_id, meta.id), META_SK),
        "rec": {"S": change.header},
        "ver": {"N": str(meta.version)},
        "gen": {"S": state.gen},
        "life": {"S": meta.life},
        "tep": {"N": str(state.transcript_epoch)},
        "nse": {"M": {ns: {"N": str(epoch)} for ns, epoch in state.namespace_epochs.items()}},
        "big": {"M": {sk: {"S": f"{nonce}:{count}"} for sk, (nonce, count) in state.big.items()}},
        "cids": {"S": " ".join(state.commits or (change.commit_id,))},
        "uid": {"S": meta.user_id},
        # The index's sort key is the store's own commit time, so that ``exp`` is exactly ``upd + ttl``
        # and listing can skip expired sessions by a key condition.
        "upd": {"N": repr(now)},
    }
    if ttl and draft.item_ttl is not None:
        item["exp"] = {"N": repr(now + ttl)}
        item["ttl"] = {"N": str(draft.item_ttl)}
    if state.floor is not None:
        item["floor"] = {"N": str(state.floor)}
    return item


def _header_put(table: Table, change: SessionChange, draft: _Draft, *, now: float, ttl: float) -> dict[str, Any]:
    item = _header_item(table, change, draft, now=now, ttl=ttl)
    size = item_size(item)
    if size > MAX_HEADER_BYTES:
        raise CommitTooLarge(change.session_id, size, MAX_HEADER_BYTES)
    names = {"#exp": "exp"}
    values: dict[str, Any] = {":now": {"N": repr(now)}}
    if change.expected_version == 0:
        condition = "attribute_not_exists(pk) OR #exp <= :now"
    else:
        condition = "#ver = :ver AND #gen = :gen AND (attribute_not_exists(#exp) OR #exp > :now)"
        names.update({"#ver": "ver", "#gen": "gen"})
        # the generation read (so a concurrent rewrite is refused) and the life the change was prepared
        # in (so a change from an earlier life of the id is refused even when the versions agree)
        values.update(
            {
                ":ver": {"N": str(change.expected_version)},
                ":gen": {"S": draft.old_gen or ""},
                ":life": {"S": change.expected_life},
            }
        )
        condition = condition.replace("#gen = :gen", "#gen = :gen AND #life = :life")
        names["#life"] = "life"
    return {
        "Put": {
            "TableName": table.name,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def run_cleanup(table: Table, cleanup: Cleanup) -> None:
    """Delete what a commit made unreachable, and keep item TTLs ahead of the session's expiry.

    Best effort: a failure is logged, never raised; what is left is never read again and, when
    the store has a TTL, DynamoDB deletes it later.
    """
    errors = boto_errors()
    sid = cleanup.session_id
    try:
        for prefix in cleanup.prefixes:
            table.purge(sid, prefix)
        doomed = [chunk_sk(cleanup.gen, nonce, i) for nonce, count in cleanup.chunks for i in range(count)]
        table.batch_delete(sid, doomed)
        if cleanup.refresh_ttl is not None or cleanup.remove_ttl:
            _refresh_ttl(table, cleanup)
    except (errors.ClientError, errors.BotoCoreError, StoreUnavailable) as exc:
        logger.warning("could not clean up after a commit to session %s: %s", sid, exc)


def _refresh_ttl(table: Table, cleanup: Cleanup) -> None:
    sid, target = cleanup.session_id, cleanup.refresh_ttl
    for item in table.query(sid, prefix=gen_prefix(cleanup.gen), projection=("sk", "ttl")):
        stored = int(item["ttl"]["N"]) if "ttl" in item else None
        if target is None and stored is not None:
            _update_if_present(table, sid, item["sk"]["S"], "REMOVE #t", {})
        elif target is not None and (stored is None or stored < target):
            _update_if_present(table, sid, item["sk"]["S"], "SET #t = :t", {":t": {"N": str(target)}})
    floor_update = "REMOVE #f" if target is None else "SET #f = :f"
    values: dict[str, Any] = {":g": {"S": cleanup.gen}}
    if target is not None:
        values[":f"] = {"N": str(target)}
    try:
        table.client.update_item(
            TableName=table.name,
            Key=table.key(sid, META_SK),
            UpdateExpression=floor_update,
            ConditionExpression="#g = :g",
            ExpressionAttributeNames={"#f": "floor", "#g": "gen"},
            ExpressionAttributeValues=values,
        )
    except boto_errors().ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise


def _update_if_present(table: Table, sid: str, sk: str, expression: str, values: dict[str, Any]) -> None:
    # The condition keeps an update from re-creating an item that a cleanup deleted meanwhile.
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "Key": table.key(sid, sk),
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_exists(sk)",
        "ExpressionAttributeNames": {"#t": "ttl"},
    }
    if values:
        kwargs["ExpressionAttributeValues"] = values
    try:
        table.client.update_item(**kwargs)
    except boto_errors().ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
