"""The sweeper: deletes data items no header can ever reach again.

Commits delete what they stage when they fail, and what they make unreachable when they succeed,
but a process killed mid-commit, a commit whose outcome stayed unknown (no answer after every
retry) or a cleanup cut off by an outage leaves items behind; with ``AK_SESSION__TTL=0`` DynamoDB's
TTL never removes them. :func:`sweep` scans the table once and deletes, per session:

* items of a generation the header does not name (an earlier life, an abandoned rewrite), or of
  any generation when there is no header;
* chunk items whose nonce no head item of the current generation refers to;
* value and turn items of an epoch the header has moved past (a cleared namespace or transcript).

Items staged by a commit carry ``at`` (when they were staged) and are only deleted once they are
older than ``older_than``: until then they may belong to a commit still in flight.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from agentkernel.stores.dynamodb._items import STAGED_AT, Item
from agentkernel.stores.dynamodb._load import read_state
from agentkernel.stores.dynamodb._table import MetaState, Table

__all__ = ["sweep"]

_SCANNED = ("pk", "sk", "cn", "e", "ns", STAGED_AT)


def sweep(table: Table, *, older_than: float) -> int:
    """Delete every unreachable data item of the table (see the module docstring). Returns the count.

    Args:
        table: The store's table.
        older_than: Seconds after which a staged item no header refers to is abandoned.
    """
    by_session: dict[str, list[Item]] = defaultdict(list)
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(_SCANNED))),
        "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(_SCANNED)},
        "FilterExpression": "begins_with(#p1, :g)",
        "ExpressionAttributeValues": {":g": {"S": "g#"}},
        "ConsistentRead": True,
    }
    while True:
        page = table.client.scan(**kwargs)
        for item in page.get("Items", []):
            by_session[item["pk"]["S"]].append(item)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    cutoff = table.clock() - older_than
    removed = 0
    for session_id, items in by_session.items():
        header = table.get_meta(session_id)
        state = read_state(table, session_id, header) if header is not None else None
        doomed = _unreachable(items, state, cutoff)
        table.batch_delete(session_id, doomed)
        removed += len(doomed)
    return removed


def _unreachable(items: list[Item], state: MetaState | None, cutoff: float) -> list[str]:
    """Sort keys of the items of one session that its header (``None``: none) cannot reach."""
    doomed: list[str] = []
    live_nonces: set[str] = set()
    chunks: list[tuple[Item, str]] = []
    for item in items:
        _, gen, kind, rest = item["sk"]["S"].split("#", 3)
        abandoned = STAGED_AT not in item or float(item[STAGED_AT]["N"]) < cutoff
        if state is None or gen != state.gen:
            dead = abandoned  # an earlier life, or a rewrite that never flipped (or is in flight)
        elif kind == "c":
            chunks.append((item, rest.split("#", 1)[0]))
            continue
        elif kind == "v" and "ns" in item and "e" in item:
            dead = int(item["e"]["N"]) != state.epoch(item["ns"]["S"])
        elif kind == "t":
            dead = rest.split("#", 1)[0] != str(state.transcript_epoch)
        else:
            dead = False
        if dead:
            doomed.append(item["sk"]["S"])
        elif "cn" in item:
            live_nonces.add(item["cn"]["S"])
    for item, nonce in chunks:
        abandoned = STAGED_AT not in item or float(item[STAGED_AT]["N"]) < cutoff
        if nonce not in live_nonces and abandoned:
            doomed.append(item["sk"]["S"])
    return doomed
