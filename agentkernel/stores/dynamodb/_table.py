"""Plain, synchronous access to the store's table: the header item, prefix queries, batch deletes.

Everything here runs on the store's worker threads and lets boto errors through; the store turns
them into :class:`~agentkernel.errors.StoreUnavailable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agentkernel.errors import StoreUnavailable
from agentkernel.stores.dynamodb._items import META_SK, Item, chunk_sk

__all__ = ["MetaState", "Table"]

logger = logging.getLogger(__name__)

_BATCH = 25  # BatchWriteItem's limit


@dataclass(slots=True)
class MetaState:
    """The bookkeeping held in a session's header item (beside the encoded meta record).

    Attributes:
        version: The session's version.
        gen: The generation: data items of this life of the session carry it in their sort keys.
        record: The encoded meta record.
        transcript_epoch: Version at which the transcript was last cleared (0: never).
        namespace_epochs: Version at which each namespace was last cleared (absent: never).
        big: Chunked values: head sort key -> (chunk nonce, chunk count).
        expires_at: Unix time the session expires (``None``: never).
        floor: The earliest ``ttl`` any live item of this generation carries (``None``: no TTL).
        commits: Ids of the latest commits (oldest first), so a change sent again is recognised.
        life: The id of this life of the session (kept across commits; a change of another is refused).
    """

    version: int
    gen: str
    record: str
    transcript_epoch: int = 0
    namespace_epochs: dict[str, int] = field(default_factory=dict)
    big: dict[str, tuple[str, int]] = field(default_factory=dict)
    expires_at: float | None = None
    floor: int | None = None
    commits: tuple[str, ...] = ()
    life: str = ""

    @classmethod
    def from_item(cls, item: Item) -> MetaState:
        """Read the header item (only the bookkeeping; the record is decoded by the caller)."""
        big: dict[str, tuple[str, int]] = {}
        for sk, value in item.get("big", {}).get("M", {}).items():
            nonce, count = value["S"].rsplit(":", 1)
            big[sk] = (nonce, int(count))
        return cls(
            version=int(item["ver"]["N"]),
            gen=item["gen"]["S"],
            record=item.get("rec", {}).get("S", ""),
            transcript_epoch=int(item.get("tep", {}).get("N", "0")),
            namespace_epochs={ns: int(v["N"]) for ns, v in item.get("nse", {}).get("M", {}).items()},
            big=big,
            expires_at=float(item["exp"]["N"]) if "exp" in item else None,
            floor=int(item["floor"]["N"]) if "floor" in item else None,
            commits=tuple(item.get("cids", {}).get("S", "").split()),
            life=item.get("life", {}).get("S", ""),
        )

    def expired(self, now: float) -> bool:
        """Whether the session has expired at ``now``."""
        return self.expires_at is not None and self.expires_at <= now

    def epoch(self, namespace: str) -> int:
        """The current epoch of ``namespace``."""
        return self.namespace_epochs.get(namespace, 0)


def _projection(names: tuple[str, ...]) -> dict[str, Any]:
    if not names:
        return {}
    return {
        "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(names))),
        "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(names)},
    }


class Table:
    """One DynamoDB table and the client that reaches it.

    Args:
        client: A boto3 DynamoDB client (thread-safe; shared by the store's worker threads).
        name: The table name.
        clock: Time source, for tests.
    """

    def __init__(self, client: Any, name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.name = name
        self.clock = clock

    def key(self, session_id: str, sk: str) -> Item:
        """The primary key of one item."""
        return {"pk": {"S": session_id}, "sk": {"S": sk}}

    def get_meta(self, session_id: str, *, projection: tuple[str, ...] = ()) -> Item | None:
        """The header item (or only the ``projection`` attributes), read strongly consistently."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": self.key(session_id, META_SK), "ConsistentRead": True}
        kwargs.update(_projection(projection))
        item: Item | None = self.client.get_item(**kwargs).get("Item")
        return item

    def query(
        self,
        session_id: str,
        *,
        prefix: str | None = None,
        between: tuple[str, str] | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        projection: tuple[str, ...] = (),
    ) -> Iterator[Item]:
        """Items of one session whose sort key has ``prefix`` (or lies ``between``), strongly consistent."""
        values: dict[str, Any] = {":pk": {"S": session_id}}
        if between is not None:
            condition = "pk = :pk AND sk BETWEEN :lo AND :hi"
            values[":lo"], values[":hi"] = {"S": between[0]}, {"S": between[1]}
        else:
            condition = "pk = :pk AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix or ""}
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        kwargs.update(_projection(projection))
        remaining = limit
        while True:
            if remaining is not None:
                kwargs["Limit"] = remaining
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                yield item
                if remaining is not None:
                    remaining -= 1
            last = page.get("LastEvaluatedKey")
            if last is None or remaining == 0:
                return
            kwargs["ExclusiveStartKey"] = last

    def batch_put(self, items: list[Item]) -> None:
        """Write items unconditionally, 25 at a time, retrying what DynamoDB leaves unprocessed."""
        self._batch([{"PutRequest": {"Item": item}} for item in items])

    def batch_delete(self, session_id: str, sort_keys: list[str]) -> None:
        """Delete items by sort key, 25 at a time, retrying what DynamoDB leaves unprocessed."""
        self._batch([{"DeleteRequest": {"Key": self.key(session_id, sk)}} for sk in sort_keys])

    def _batch(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), _BATCH):
            pending = requests[start : start + _BATCH]
            for attempt in range(8):
                if not pending:
                    break
                if attempt:
                    time.sleep(min(0.05 * 2**attempt, 1.0))
                result = self.client.batch_write_item(RequestItems={self.name: pending})
                pending = result.get("UnprocessedItems", {}).get(self.name, [])
            if pending:
                raise StoreUnavailable(
                    f"DynamoDB left {len(pending)} batch writes to table {self.name!r} unprocessed after "
                    "retries (throttled); retry later or raise the table's capacity"
                )

    def purge(self, session_id: str, prefix: str) -> int:
        """Delete every item under ``prefix`` and the chunks its items refer to. Returns the count."""
        doomed: list[str] = []
        for item in self.query(session_id, prefix=prefix, projection=("sk", "n", "cn")):
            doomed.append(item["sk"]["S"])
            if "n" in item and "cn" in item:
                gen = prefix.split("#")[1]
                doomed.extend(chunk_sk(gen, item["cn"]["S"], i) for i in range(int(item["n"]["N"])))
        unique = list(dict.fromkeys(doomed))  # a whole-generation prefix also matches the chunks
        self.batch_delete(session_id, unique)
        return len(unique)
