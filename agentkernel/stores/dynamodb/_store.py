"""The DynamoDB session store (``AK_SESSION__TYPE=dynamodb``, extra ``agentkernel[dynamodb]``).

One table holds every session; the item layout is in :mod:`agentkernel.stores.dynamodb._items` and
docs/stores.md. Reads are strongly consistent (listing, which uses a global secondary index, is
not). A commit ends in one ``TransactWriteItems`` guarded by the header's version (what it needs
first is staged where readers cannot see it, see :mod:`._commit`). boto3 is blocking, so
every call runs on the store's own small thread pool, never on the event loop.

The table is made once by :meth:`DynamoDBStore.setup` (or ``agentkernel store setup``); nothing is
created on first use, and a missing table is an error that says so.

Example:
    >>> store = DynamoDBStore(table_name="agentkernel-sessions", region="eu-west-1")  # doctest: +SKIP
    >>> await store.setup()  # once per table  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from agentkernel.errors import CorruptSession, StoreUnavailable
from agentkernel.stores.base import SessionChange, SessionMeta, SessionPage, StoredSession, decode_cursor, encode_cursor
from agentkernel.stores.dynamodb._client import boto_errors, error_code, make_client, translate
from agentkernel.stores.dynamodb._commit import CommitPlan, commit_change, run_cleanup
from agentkernel.stores.dynamodb._items import LEASE_SK, META_SK, gen_prefix, partition_key, session_of
from agentkernel.stores.dynamodb._load import load_session, read_state
from agentkernel.stores.dynamodb._options import DynamoDBOptions
from agentkernel.stores.dynamodb._setup import USER_INDEX, setup_table
from agentkernel.stores.dynamodb._sweep import sweep
from agentkernel.stores.dynamodb._table import Table

__all__ = ["DynamoDBOptions", "DynamoDBStore", "setup"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class DynamoDBStore:
    """Sessions in one DynamoDB table.

    Args:
        options: Table, region, endpoint, item sizes, timeouts and pool size (see
            :class:`DynamoDBOptions`); defaults for whatever is left out.
        ttl: Seconds of inactivity after which a session reads as absent (0: never).
        client: A boto3 DynamoDB client to use instead of making one (it stays the caller's).
        clock: Time source, for tests.
        **fields: Fields of :class:`DynamoDBOptions` given one by one (``table_name=...``,
            ``region=...``), over ``options``; checked as settings are.

    Raises:
        MissingDependency: boto3 is not installed.
        pydantic.ValidationError: a field is unknown or invalid.

    Example:
        >>> store = DynamoDBStore(table_name="sessions", region="eu-west-1", ttl=3600)  # doctest: +SKIP
    """

    options_model = DynamoDBOptions

    def __init__(
        self,
        *,
        options: DynamoDBOptions | None = None,
        ttl: float = 0,
        client: Any = None,
        clock: Callable[[], float] = time.time,
        **fields: Any,
    ) -> None:
        self._errors = boto_errors()  # raises MissingDependency without boto3
        if fields:
            base = options.model_dump() if options is not None else {}
            options = DynamoDBOptions.model_validate({**base, **fields})
        self.options = options = options or DynamoDBOptions()
        self._owns_client = client is None
        self._region = options.region
        self._ttl = ttl
        self._table = Table(client if client is not None else make_client(options), options.table_name, clock=clock)
        self._plan = CommitPlan(
            ttl=ttl,
            slack=max(float(options.cleanup_slack), 2.0 * ttl),
            chunk_size=options.chunk_size,
            compress_over=options.compress_over,
        )
        self._executor = ThreadPoolExecutor(
            max_workers=options.max_pool_connections, thread_name_prefix="agentkernel-dynamodb"
        )

    @classmethod
    def from_options(cls, options: DynamoDBOptions, *, ttl: float) -> DynamoDBStore:
        """Build from validated settings."""
        return cls(options=options, ttl=ttl)

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client."""
        return self._table.client

    @property
    def table_name(self) -> str:
        """The table's name."""
        return self._table.name

    async def _run(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking table operation on the pool; boto errors become ``StoreUnavailable``."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except (self._errors.ClientError, self._errors.BotoCoreError) as exc:
            raise translate(exc, action=action, table_name=self._table.name, region=self._region) from exc

    # ------------------------------------------------------------------ setup
    async def setup(self, *, wait_seconds: int = 300) -> bool:
        """Create the table, its index and TTL if missing (idempotent). Returns whether it was created.

        Raises:
            ConfigError: a table of that name exists with another layout.
            StoreUnavailable: DynamoDB could not be reached or refused (e.g. no permission).
        """
        create = functools.partial(setup_table, wait_seconds=wait_seconds)
        return await self._run("create the table", create, self._table.client, self._table.name)

    # --------------------------------------------------------------- sessions
    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> StoredSession | None:
        """See :meth:`SessionStore.load`."""
        read = functools.partial(load_session, last_turns=last_turns)
        return await self._run("load a session", read, self._table, user_id, session_id)

    async def commit(self, change: SessionChange) -> None:
        """See :meth:`SessionStore.commit`.

        A commit of any number of items succeeds (see docs/stores.md); readers see it whole or not
        at all. A change sent again after its reply was lost is recognised and reported as applied.

        Cancelling the caller does not cut a commit short: boto3 calls cannot be interrupted, so
        the cancellation waits until the commit (and the deletion of whatever it staged, if it did
        not apply) has ended, then propagates. The change was then applied whole or not at all;
        load the session to learn which.

        Raises:
            SessionConflict: the stored version differs; nothing was written.
            CommitTooLarge: the header (name, tags) would be over DynamoDB's item limit (a ``SessionTooLarge``).
            StoreUnavailable: DynamoDB failed; the change was applied whole or not at all.
        """
        await self._run_to_end("commit a change", self._commit, change)

    def _commit(self, change: SessionChange) -> None:
        run_cleanup(self._table, commit_change(self._table, change, self._plan))

    async def _run_to_end(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        """Like :meth:`_run`, but a cancellation waits for the call to end before it propagates."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, functools.partial(fn, *args))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])  # not cancelled by a second cancellation: it ends the wait only
            if not future.cancelled():
                future.exception()  # the caller was cancelled: the outcome is learnt by loading
            raise
        except (self._errors.ClientError, self._errors.BotoCoreError) as exc:
            raise translate(exc, action=action, table_name=self._table.name, region=self._region) from exc

    async def delete(self, user_id: str, session_id: str) -> bool:
        """See :meth:`SessionStore.delete`. The header goes first (atomic); the rest follows.

        Nothing is decoded, so a session with unreadable records is deleted like any other.
        """
        return await self._run("delete a session", self._delete, user_id, session_id)

    def _delete(self, user_id: str, session_id: str) -> bool:
        table = self._table
        pk = partition_key(user_id, session_id)
        old = table.client.delete_item(
            TableName=table.name, Key=table.key(pk, META_SK), ReturnValues="ALL_OLD"
        ).get("Attributes")
        if old is None:
            return False
        try:
            state = read_state(table, session_id, old)
        except CorruptSession:
            logger.warning("deleted session %s had a malformed header; its other items stay behind", session_id)
            return True
        try:
            table.purge(pk, gen_prefix(state.gen))
        except (self._errors.ClientError, self._errors.BotoCoreError, StoreUnavailable) as exc:
            # The session is gone already (its header was); the rest is never read again.
            logger.warning("deleted session %s, but not all of its items yet: %s", session_id, exc)
        return not state.expired(table.clock())

    async def sweep(self, *, older_than: float = 3600) -> int:
        """Delete data items no session can reach any more; returns how many. Safe while in use.

        Commits clean up after themselves, but a process killed mid-commit, a commit whose outcome
        stayed unknown or a cleanup cut off by an outage leaves unreachable items, which nothing
        else removes when the store has no TTL. This scans the whole table once (run it from a
        scheduled job, e.g. daily). Items a commit staged are left alone for ``older_than``
        seconds, since that commit may still be in flight.

        Raises:
            StoreUnavailable: DynamoDB failed; run it again.
        """
        return await self._run("sweep unreachable items", functools.partial(sweep, older_than=older_than), self._table)

    async def list_sessions(self, user_id: str, *, limit: int = 50, cursor: str | None = None) -> SessionPage:
        """See :meth:`SessionStore.list_sessions`.

        Reads the ``by-user`` index, which DynamoDB updates shortly after a commit (eventually
        consistent): a session committed a moment ago may be missing or in its old place. With a
        TTL, the index's sort key (the commit time) is bounded to the last TTL seconds, so expired
        sessions are skipped by DynamoDB and cost nothing to list.
        """
        after = decode_cursor(cursor)
        return await self._run("list sessions", self._list, user_id, limit, after)

    def _list(self, user_id: str, limit: int, after: tuple[float, str] | None) -> SessionPage:
        table = self._table
        now = table.clock()
        values: dict[str, Any] = {":uid": {"S": user_id}}
        condition = "uid = :uid"
        if self._ttl:
            # ``exp = upd + ttl``: a session is live while ``upd > now - ttl``. The bound is a hair
            # wide so that rounding never hides a live session; ``exp`` decides exactly below.
            condition += " AND upd > :since"
            values[":since"] = {"N": repr(now - self._ttl - 1)}
        kwargs: dict[str, Any] = {
            "TableName": table.name,
            "IndexName": USER_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {
                "uid": {"S": user_id},
                "upd": {"N": repr(after[0])},
                **table.key(partition_key(user_id, after[1]), META_SK),
            }
        found: list[tuple[float, SessionMeta]] = []
        while len(found) <= limit:
            kwargs["Limit"] = limit + 1 - len(found)
            page = table.client.query(**kwargs)
            for item in page.get("Items", []):
                if "exp" in item and float(item["exp"]["N"]) <= now:
                    continue
                session_id = session_of(item["pk"]["S"])
                try:
                    record = item.get("rec", {}).get("S", "")
                    meta = SessionMeta.from_record(record, session_id=session_id, user_id=user_id)
                except CorruptSession as exc:
                    logger.warning("listing skips session %s: %s", session_id, exc)
                    continue
                found.append((float(item["upd"]["N"]), meta))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        shown = found[:limit]
        more = len(found) > limit and bool(shown)
        cursor = encode_cursor(shown[-1][0], shown[-1][1].id) if more else None
        return SessionPage([meta for _, meta in shown], cursor)

    # ----------------------------------------------------------------- leases
    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """See :meth:`SessionStore.acquire_lease`. Expiry is judged by the callers' clocks."""
        return await self._run("take a lease", self._acquire, partition_key(user_id, session_id), token, ttl)

    def _acquire(self, pk: str, token: str, ttl: float) -> bool:
        table = self._table
        now = table.clock()
        return self._conditional(
            table.client.put_item,
            TableName=table.name,
            Item={
                **table.key(pk, LEASE_SK),
                "tok": {"S": token},
                "lexp": {"N": repr(now + ttl)},
                "ttl": {"N": str(int(now + ttl) + 3600)},
            },
            ConditionExpression="attribute_not_exists(pk) OR #lexp <= :now OR #tok = :tok",
            ExpressionAttributeNames={"#lexp": "lexp", "#tok": "tok"},
            ExpressionAttributeValues={":now": {"N": repr(now)}, ":tok": {"S": token}},
        )

    async def renew_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        """See :meth:`SessionStore.renew_lease`."""
        return await self._run("renew a lease", self._renew, partition_key(user_id, session_id), token, ttl)

    def _renew(self, pk: str, token: str, ttl: float) -> bool:
        table = self._table
        now = table.clock()
        return self._conditional(
            table.client.update_item,
            TableName=table.name,
            Key=table.key(pk, LEASE_SK),
            UpdateExpression="SET #lexp = :exp, #ttl = :ttl",
            ConditionExpression="#tok = :tok AND #lexp > :now",
            ExpressionAttributeNames={"#lexp": "lexp", "#tok": "tok", "#ttl": "ttl"},
            ExpressionAttributeValues={
                ":now": {"N": repr(now)},
                ":tok": {"S": token},
                ":exp": {"N": repr(now + ttl)},
                ":ttl": {"N": str(int(now + ttl) + 3600)},
            },
        )

    async def lease_remaining(self, user_id: str, session_id: str) -> float | None:
        """See :meth:`SupportsLeaseInfo.lease_remaining`. Judged by this caller's clock."""
        return await self._run("read a lease", self._lease_remaining, partition_key(user_id, session_id))

    def _lease_remaining(self, pk: str) -> float | None:
        table = self._table
        item = table.client.get_item(TableName=table.name, Key=table.key(pk, LEASE_SK), ConsistentRead=True).get("Item")
        if item is None or "lexp" not in item:
            return None
        left = float(item["lexp"]["N"]) - table.clock()
        return left if left > 0 else None

    async def release_lease(self, user_id: str, session_id: str, token: str) -> bool:
        """See :meth:`SessionStore.release_lease`."""
        return await self._run("release a lease", self._release, partition_key(user_id, session_id), token)

    def _release(self, pk: str, token: str) -> bool:
        table = self._table
        return self._conditional(
            table.client.delete_item,
            TableName=table.name,
            Key=table.key(pk, LEASE_SK),
            ConditionExpression="#tok = :tok",
            ExpressionAttributeNames={"#tok": "tok"},
            ExpressionAttributeValues={":tok": {"S": token}},
        )

    def _conditional(self, call: Callable[..., Any], **kwargs: Any) -> bool:
        try:
            call(**kwargs)
        except self._errors.ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -------------------------------------------------------------- lifecycle
    async def aclose(self) -> None:
        """Stop the worker threads and close the client if this store made it."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)  # lets calls still running finish
        if self._owns_client:
            self._table.client.close()

    async def __aenter__(self) -> DynamoDBStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def setup(options: DynamoDBOptions | None = None, *, client: Any = None, wait_seconds: int = 300) -> bool:
    """Create the store's table (blocking): for scripts and the ``agentkernel store setup`` command.

    Args:
        options: Table, region and endpoint (defaults: ``DynamoDBOptions()``).
        client: A boto3 DynamoDB client to use instead of making one.
        wait_seconds: How long to wait for the table to become active.

    Returns:
        Whether the table was created (``False``: it was there already).

    Raises:
        ConfigError: a table of that name exists with another layout.
        StoreUnavailable: DynamoDB could not be reached or refused.
    """
    options = options or DynamoDBOptions()
    errors = boto_errors()
    own = client is None
    if client is None:
        client = make_client(options)
    try:
        return setup_table(client, options.table_name, wait_seconds=wait_seconds)
    except (errors.ClientError, errors.BotoCoreError) as exc:
        raise translate(exc, action="create the table", table_name=options.table_name, region=options.region) from exc
    finally:
        if own:
            client.close()
