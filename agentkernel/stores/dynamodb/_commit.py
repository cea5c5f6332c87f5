"""One commit to the DynamoDB table: a single version-checked ``TransactWriteItems``.

The transaction holds the header (``Put`` with a condition on its version and on the generation the
change was prepared in, ``change.expected_life``, so a change from an earlier life of the id is
refused even when the versions agree), one
``Put`` per new turn and per set value, one ``Delete`` per deleted key. Clearing a namespace or
the transcript only moves an epoch in the header; creating a session over an expired one draws a
new generation. What those make unreachable, and chunks of overwritten values, is deleted after
the transaction succeeds (see :class:`Cleanup`), best effort: nothing ever reads it again.

Records too big for one item are split into chunk items written *before* the transaction, under
fresh random names no header refers to yet, so a failed or refused commit leaves nothing a reader
can see (and they are deleted again at once).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from agentkernel.errors import SessionConflict, StoreUnavailable
from agentkernel.stores.base import SessionChange
from agentkernel.stores.dynamodb._client import CommitTooLarge, boto_errors, error_code
from agentkernel.stores.dynamodb._items import (
    META_SK,
    Item,
    Packed,
    chunk_sk,
    gen_prefix,
    namespace_prefix,
    pack,
    partition_key,
    payload_attrs,
    turn_prefix,
    turn_sk,
    value_sk,
)
from agentkernel.stores.dynamodb._load import read_state
from agentkernel.stores.dynamodb._table import MetaState, Table

__all__ = ["MAX_TRANSACTION_ITEMS", "Cleanup", "CommitPlan", "commit_change", "run_cleanup"]

logger = logging.getLogger(__name__)

MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit on the actions of one ``TransactWriteItems``."""

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


def commit_change(table: Table, change: SessionChange, plan: CommitPlan) -> Cleanup:
    """Apply ``change`` atomically if the stored version is ``change.expected_version``.

    Returns:
        What to clean up afterwards (see :func:`run_cleanup`).

    Raises:
        SessionConflict: the stored version differs, or another transaction was on the session.
        CommitTooLarge: the change needs more than 100 items in one transaction.
        botocore errors: anything else (the store translates them).
    """
    sid = change.session_id
    pk = partition_key(change.user_id, sid)
    now = table.clock()
    current = table.get_meta(pk)
    old = read_state(table, sid, current) if current is not None else None
    live = old is not None and not old.expired(now)
    actual = old.version if live and old is not None else None
    if (actual or 0) != change.expected_version:
        raise SessionConflict(sid, change.expected_version, actual)
    if live and old is not None and old.gen != change.expected_life:
        raise SessionConflict(sid, change.expected_version, actual, another_life=True)

    item_ttl = int(now + plan.ttl + plan.slack) if plan.ttl else None
    if live and old is not None:
        state = replace(old, namespace_epochs=dict(old.namespace_epochs), big=dict(old.big))
    else:
        state = MetaState(version=0, gen=change.meta.life, record="", floor=item_ttl)
    cleanup = Cleanup(session_id=pk, gen=state.gen)
    if old is not None and not live:
        cleanup.prefixes.append(gen_prefix(old.gen))  # an expired earlier life of this id
    version = change.meta.version

    if change.clear_transcript:
        if live:
            cleanup.prefixes.append(turn_prefix(state.gen, state.transcript_epoch))
        state.transcript_epoch = version
    for namespace in sorted(change.cleared_namespaces):
        if live:
            dead = namespace_prefix(state.gen, namespace, state.epoch(namespace))
            cleanup.prefixes.append(dead)
            for sk in [sk for sk in state.big if sk.startswith(dead)]:
                cleanup.chunks.append(state.big.pop(sk))
        state.namespace_epochs[namespace] = version

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
        raise CommitTooLarge(sid, total, MAX_TRANSACTION_ITEMS)
    inline_max = min(plan.chunk_size, _TRANSACTION_BYTES // total)

    def packed(raw: str) -> Packed:
        return pack(raw, compress_over=plan.compress_over, inline_max=inline_max, chunk_size=plan.chunk_size)

    actions: list[dict[str, Any]] = []
    staged: list[Item] = []
    for namespace, key in deletes:
        sk = value_sk(state.gen, namespace, state.epoch(namespace), key)
        actions.append({"Delete": {"TableName": table.name, "Key": table.key(pk, sk)}})
        if sk in state.big:
            cleanup.chunks.append(state.big.pop(sk))
    for namespace, key, raw in updates:
        epoch = state.epoch(namespace)
        sk = value_sk(state.gen, namespace, epoch, key)
        record = packed(raw)
        head = {"ns": {"S": namespace}, "k": {"S": key}, "e": {"N": str(epoch)}}
        item = _item(table, pk, sk, record, head, item_ttl, staged, state.gen)
        actions.append({"Put": {"TableName": table.name, "Item": item}})
        if sk in state.big:
            cleanup.chunks.append(state.big.pop(sk))
        if record.chunks:
            state.big[sk] = (record.nonce, len(record.chunks))
    for offset, raw in enumerate(change.turns):
        sk = turn_sk(state.gen, state.transcript_epoch, change.first_turn_index + offset)
        item = _item(table, pk, sk, packed(raw), {}, item_ttl, staged, state.gen)
        actions.append({"Put": {"TableName": table.name, "Item": item}})

    if plan.ttl and live and (state.floor is None or state.floor < now + plan.ttl + plan.slack / 2):
        cleanup.refresh_ttl = item_ttl  # the oldest items would outlive the session by too little
    elif not plan.ttl and state.floor is not None:
        cleanup.remove_ttl = True
    actions.append(_header_put(table, change, state, now=now, ttl=plan.ttl, item_ttl=item_ttl))

    if staged:
        try:
            table.batch_put(staged)
        except BaseException:
            _forget_staged(table, pk, staged)
            raise
    errors = boto_errors()
    try:
        table.client.transact_write_items(TransactItems=actions, ClientRequestToken=str(uuid.uuid4()))
    except (errors.ClientError, errors.ConnectionError) as exc:
        # DynamoDB answered no, or the request never left: the transaction did not apply, so
        # the staged chunks are garbage. (After a read timeout it may have applied: keep them.)
        if staged:
            _forget_staged(table, pk, staged)
        if error_code(exc) == "TransactionCanceledException":
            reasons = [reason.get("Code", "") for reason in getattr(exc, "response", {}).get("CancellationReasons", [])]
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons):
                raise SessionConflict(sid, change.expected_version, _actual_version(table, pk, sid)) from None
        raise
    return cleanup


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


def _header_put(
    table: Table, change: SessionChange, state: MetaState, *, now: float, ttl: float, item_ttl: int | None
) -> dict[str, Any]:
    meta = change.meta
    item: Item = {
        **table.key(partition_key(meta.user_id, meta.id), META_SK),
        "rec": {"S": change.header},
        "ver": {"N": str(meta.version)},
        "gen": {"S": state.gen},
        "tep": {"N": str(state.transcript_epoch)},
        "nse": {"M": {ns: {"N": str(epoch)} for ns, epoch in state.namespace_epochs.items()}},
        "big": {"M": {sk: {"S": f"{nonce}:{count}"} for sk, (nonce, count) in state.big.items()}},
        "uid": {"S": meta.user_id},
        "upd": {"N": repr(meta.updated_at)},
    }
    if ttl and item_ttl is not None:
        item["exp"] = {"N": repr(now + ttl)}
        item["ttl"] = {"N": str(item_ttl)}
    if state.floor is not None:
        item["floor"] = {"N": str(state.floor)}
    names = {"#exp": "exp"}
    values: dict[str, Any] = {":now": {"N": repr(now)}}
    if change.expected_version == 0:
        condition = "attribute_not_exists(pk) OR #exp <= :now"
    else:
        condition = "#ver = :ver AND #gen = :gen AND (attribute_not_exists(#exp) OR #exp > :now)"
        names.update({"#ver": "ver", "#gen": "gen"})
        # the life the change was prepared in, not the stored one: a change from an earlier life is refused
        values.update({":ver": {"N": str(change.expected_version)}, ":gen": {"S": change.expected_life}})
    return {
        "Put": {
            "TableName": table.name,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _actual_version(table: Table, pk: str, sid: str) -> int | None:
    item = table.get_meta(pk)
    if item is None:
        return None
    state = read_state(table, sid, item)
    return None if state.expired(table.clock()) else state.version


def _forget_staged(table: Table, sid: str, staged: list[Item]) -> None:
    errors = boto_errors()
    try:
        table.batch_delete(sid, [item["sk"]["S"] for item in staged])
    except (errors.ClientError, errors.BotoCoreError, StoreUnavailable) as exc:
        logger.warning("could not delete %d unused chunk items of session %s: %s", len(staged), sid, exc)


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
