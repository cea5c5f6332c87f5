"""The DynamoDB store against moto in server mode: real HTTP, real boto3, real transactions."""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import random
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from agentkernel._records import pending_change
from agentkernel.errors import ConfigError, CorruptSession, MissingDependency, StoreUnavailable
from agentkernel.runner import Runner
from agentkernel.session import DEFAULT_USER, Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores import open_store
from agentkernel.stores.base import SessionStore
from agentkernel.stores.dynamodb import DynamoDBOptions, DynamoDBStore, setup
from agentkernel.stores.dynamodb._client import TableMissing, make_client
from agentkernel.stores.dynamodb._commit import commit_change, run_cleanup
from agentkernel.stores.dynamodb._items import META_SK, partition_key
from agentkernel.testing import ScriptedAgent, StoreContract, StoreMaker, sample_turn
from agentkernel.testing.moto_server import MotoServer


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def endpoint(moto_server: MotoServer, aws_env: None) -> str:
    """An empty moto with the store's table made by ``setup``."""
    moto_server.reset()
    assert setup(DynamoDBOptions(endpoint_url=moto_server.endpoint_url)) is True
    return moto_server.endpoint_url


@pytest.fixture
async def make_dynamodb(endpoint: str) -> AsyncIterator[Callable[..., DynamoDBStore]]:
    made: list[DynamoDBStore] = []

    def make(ttl: float = 0, **kwargs: object) -> DynamoDBStore:
        store = DynamoDBStore(endpoint_url=endpoint, ttl=ttl, **kwargs)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


def put_meta_record(store: DynamoDBStore, session_id: str, raw: str, *, user_id: str = DEFAULT_USER) -> None:
    store.client.update_item(
        TableName=store.table_name,
        Key={"pk": {"S": partition_key(user_id, session_id)}, "sk": {"S": META_SK}},
        UpdateExpression="SET rec = :r",
        ExpressionAttributeValues={":r": {"S": raw}},
    )


class TestDynamoDBStore(StoreContract):
    @pytest.fixture
    def make_store(self, make_dynamodb: Callable[..., DynamoDBStore]) -> StoreMaker:
        return make_dynamodb

    async def corrupt_record(self, store: SessionStore, user_id: str, session_id: str, raw: str) -> None:
        assert isinstance(store, DynamoDBStore)
        put_meta_record(store, session_id, raw, user_id=user_id)


async def save(store: SessionStore, session: Session) -> Session:
    return await Sessions(store).save(session)


def random_text(size: int, seed: int) -> str:
    """Incompressible-ish text (base64 of random bytes): compression alone cannot make it fit."""
    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4)).decode()


def items_of(store: DynamoDBStore, session_id: str) -> list[dict[str, Any]]:
    pages = store.client.get_paginator("query").paginate(
        TableName=store.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": partition_key(DEFAULT_USER, session_id)}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def sort_keys(store: DynamoDBStore, session_id: str, kind: str) -> list[str]:
    """Sort keys of the session's data items of one kind: v (values), t (turns), c (chunks)."""
    return [i["sk"]["S"] for i in items_of(store, session_id) if i["sk"]["S"].split("#")[2:3] == [kind]]


# --------------------------------------------------------------------------- size
async def test_a_2_mb_value_and_a_1_mb_turn_are_stored_and_read_back_whole(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    big_value = random_text(2_000_000, seed=1)
    long_result = random_text(1_000_000, seed=2)
    session = Session("big")
    session.namespace("langgraph")["checkpoint"] = {"blob": big_value}
    session.set("small", 1)
    turn = sample_turn("fetch")
    turn = turn.model_copy(update={"steps": [turn.steps[0].model_copy(update={"result": long_result})]})
    session.append_turn(turn)
    await save(store, session)

    loaded = await Sessions(store).find("big")
    assert loaded is not None
    assert loaded.namespace("langgraph")["checkpoint"]["blob"] == big_value
    assert loaded.turns[0].steps[0].result == long_result
    assert loaded.get("small") == 1
    assert loaded.size_bytes == session.size_bytes
    # The records really were split: no item may exceed DynamoDB's 400 KB.
    chunks = sort_keys(store, "big", "c")
    assert len(chunks) >= 5, chunks
    assert all(len(i.get("d", {}).get("B", b"")) <= 400_000 for i in items_of(store, "big"))


async def test_overwriting_or_deleting_a_big_value_removes_its_old_chunks(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = Session("big")
    session.set("a", random_text(900_000, seed=3))
    session.set("b", random_text(900_000, seed=4))
    await save(store, session)
    before = set(sort_keys(store, "big", "c"))
    assert before

    session.set("a", random_text(800_000, seed=5))
    session.delete("b")
    await save(store, session)
    after = set(sort_keys(store, "big", "c"))
    assert after, "the new value's chunks were written"
    assert not (after & before), "the old chunks are gone"
    loaded = await Sessions(store).find("big")
    assert loaded is not None
    assert loaded.get("a") == random_text(800_000, seed=5)
    assert loaded.get("b") is None


# ----------------------------------------------------------------- corruption
async def test_a_corrupt_turn_item_is_reported_for_that_session_only(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    for sid in ("bad", "good"):
        session = Session(sid)
        session.append_turn(sample_turn("one"))
        session.append_turn(sample_turn("two"))
        await save(store, session)
    (first_turn, _) = sort_keys(store, "bad", "t")
    store.client.update_item(
        TableName=store.table_name,
        Key={"pk": {"S": partition_key(DEFAULT_USER, "bad")}, "sk": {"S": first_turn}},
        UpdateExpression="SET d = :d, z = :z",
        ExpressionAttributeValues={":d": {"B": b"\x00not a record"}, ":z": {"BOOL": True}},
    )
    with pytest.raises(CorruptSession) as caught:
        await Sessions(store).find("bad")
    assert caught.value.session_id == "bad"
    assert "turn" in str(caught.value)
    last = await Sessions(store).find("bad", last_turns=1)  # the intact turn is still readable
    assert last is not None
    assert [t.prompt for t in last.turns] == ["two"]
    good = await Sessions(store).find("good")
    assert good is not None
    assert [t.prompt for t in good.turns] == ["one", "two"]


async def test_a_missing_turn_item_is_corruption_not_a_shorter_transcript(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = Session("holey")
    for i in range(3):
        session.append_turn(sample_turn(f"t{i}"))
    await save(store, session)
    pk = partition_key(DEFAULT_USER, "holey")
    store.client.delete_item(
        TableName=store.table_name, Key={"pk": {"S": pk}, "sk": {"S": sort_keys(store, "holey", "t")[1]}}
    )
    with pytest.raises(CorruptSession, match="turns 0-2"):
        await Sessions(store).find("holey")


# ---------------------------------------------------------------- generations
async def test_a_session_created_again_after_delete_or_expiry_shows_no_old_data(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    clock = FakeClock()
    store = make_dynamodb(ttl=60, clock=clock)
    old = Session("reused")
    old.set("secret", "old")
    old.namespace("crewai")["memory"] = random_text(500_000, seed=6)
    old.append_turn(sample_turn("old turn"))
    await save(store, old)

    clock.now += 61  # expired, though no item has been deleted yet
    assert await Sessions(store).find("reused") is None
    assert len(items_of(store, "reused")) > 1
    fresh = await save(store, Session("reused"))
    loaded = await Sessions(store).find("reused")
    assert loaded is not None
    assert loaded.version == 1 == fresh.version
    assert loaded.keys() == []
    assert loaded.namespaces() == []
    assert loaded.turn_count == 0
    assert sort_keys(store, "reused", "v") == sort_keys(store, "reused", "t") == sort_keys(store, "reused", "c") == []

    loaded.set("new", 1)
    loaded.append_turn(sample_turn("new turn"))
    await save(store, loaded)
    assert await store.delete(DEFAULT_USER, "reused") is True
    assert items_of(store, "reused") == [], "a deleted session leaves no item behind"
    again = await save(store, Session("reused"))
    reloaded = await Sessions(store).find("reused")
    assert reloaded is not None
    assert reloaded.keys() == []
    assert reloaded.turn_count == 0
    assert again.version == 1


async def test_clearing_the_transcript_is_one_small_write_and_old_turns_are_purged(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = Session("long")
    for batch in range(3):
        for i in range(90):
            session.append_turn(sample_turn(f"b{batch}-{i}"))
        await save(store, session)  # each commit stays under the 100-item limit
    session.namespace("crewai")["x"] = 1
    await save(store, session)
    loaded = await Sessions(store).find("long", last_turns=0)
    assert loaded is not None
    assert loaded.turn_count == 270
    loaded.clear(transcript=True)  # 270 turns would never fit one transaction as deletes
    loaded.append_turn(sample_turn("fresh"))
    await save(store, loaded)
    final = await Sessions(store).find("long")
    assert final is not None
    assert [t.prompt for t in final.turns] == ["fresh"]
    assert final.namespaces() == []
    assert len(sort_keys(store, "long", "t")) == 1
    assert sort_keys(store, "long", "v") == []


async def test_item_ttls_are_set_for_cleanup_and_refreshed_before_a_live_session_could_lose_items(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    clock = FakeClock()
    store = make_dynamodb(ttl=100, cleanup_slack=200, clock=clock)
    session = Session("aging")
    session.append_turn(sample_turn("first"))
    await save(store, session)
    first_turn = sort_keys(store, "aging", "t")[0]

    def ttl_of(sk: str) -> int:
        (item,) = [i for i in items_of(store, "aging") if i["sk"]["S"] == sk]
        return int(item["ttl"]["N"])

    start = clock.now
    assert ttl_of(first_turn) == int(start + 300)
    for step in range(1, 8):  # stays alive by committing every 90 s, for 630 s in all
        clock.now = start + 90 * step
        session.set("step", step)
        await save(store, session)
        assert ttl_of(first_turn) > clock.now + 100, "an old item must outlive the session's expiry"
    assert ttl_of(first_turn) > start + 630


# --------------------------------------------------------------------- faults
async def test_an_endpoint_that_is_down_raises_store_unavailable(aws_env: None) -> None:
    server = MotoServer().start()
    endpoint = server.endpoint_url
    setup(DynamoDBOptions(endpoint_url=endpoint))
    store = DynamoDBStore(endpoint_url=endpoint, max_attempts=2, connect_timeout=1, read_timeout=2)
    session = await save(store, Session("s"))
    server.stop()
    try:
        with pytest.raises(StoreUnavailable, match="could not load a session"):
            await Sessions(store).find("s")
        session.set("k", 1)
        with pytest.raises(StoreUnavailable):
            await store.commit(pending_change(session))
        with pytest.raises(StoreUnavailable):
            await store.list_sessions("anonymous")
        with pytest.raises(StoreUnavailable):
            await store.acquire_lease(DEFAULT_USER, "s", "t", 5)
        with pytest.raises(StoreUnavailable):
            await store.delete(DEFAULT_USER, "s")
    finally:
        await store.aclose()


async def test_throttling_after_retries_is_store_unavailable(aws_env: None) -> None:
    client = make_client(
        DynamoDBOptions(
            endpoint_url="http://127.0.0.1:9", connect_timeout=1, read_timeout=1, max_attempts=1, max_pool_connections=2
        )
    )
    store = DynamoDBStore(client=client)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        with pytest.raises(StoreUnavailable, match="throttled"):
            await Sessions(store).find("s")
        stub.add_client_error("get_item", "ThrottlingException", http_status_code=400)
        with pytest.raises(StoreUnavailable, match="throttled"):
            await store.commit(pending_change(Session("s")))
    await store.aclose()
    client.close()  # the caller's client stays the caller's to close


async def test_a_missing_table_is_a_clear_error_naming_setup(endpoint: str) -> None:
    store = DynamoDBStore(endpoint_url=endpoint, table_name="not-made-yet")
    try:
        for call in (Sessions(store).find("s"), store.commit(pending_change(Session("s"))), store.list_sessions("u")):
            with pytest.raises(TableMissing, match=r"not-made-yet.*store setup") as caught:
                await call
            assert isinstance(caught.value, StoreUnavailable)
            assert isinstance(caught.value, ConfigError)
    finally:
        await store.aclose()


# ---------------------------------------------------------------------- setup
async def test_setup_is_idempotent_and_enables_ttl(endpoint: str) -> None:
    store = DynamoDBStore.from_options(DynamoDBOptions(endpoint_url=endpoint, table_name="fresh"), ttl=0)
    try:
        assert await store.setup() is True
        assert await store.setup() is False
        ttl = store.client.describe_time_to_live(TableName="fresh")["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        assert ttl["AttributeName"] == "ttl"
        table = store.client.describe_table(TableName="fresh")["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-user"]
    finally:
        await store.aclose()


async def test_setup_refuses_a_foreign_table(endpoint: str) -> None:
    store = DynamoDBStore(endpoint_url=endpoint, table_name="foreign")
    store.client.create_table(
        TableName="foreign",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        with pytest.raises(ConfigError, match="key schema"):
            await store.setup()
    finally:
        await store.aclose()


def test_without_boto3_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` raise ImportError
    with pytest.raises(MissingDependency) as caught:
        DynamoDBStore()
    assert str(caught.value) == (
        "the DynamoDB session store requires the 'dynamodb' extra: pip install 'agentkernel[dynamodb]'"
    )


async def test_options_come_from_settings(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv("AK_SESSION__TYPE", "dynamodb")
    monkeypatch.setenv("AK_SESSION__TTL", "30")
    monkeypatch.setenv("AK_SESSION__DYNAMODB__TABLE_NAME", "agentkernel-sessions")
    monkeypatch.setenv("AK_SESSION__DYNAMODB__REGION", "us-east-1")
    monkeypatch.setenv("AK_SESSION__DYNAMODB__ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AK_SESSION__DYNAMODB__CHUNK_SIZE", "100000")
    store = open_store(load_settings().session)
    try:
        assert isinstance(store, DynamoDBStore)
        assert store._ttl == 30
        assert store._plan.chunk_size == 100_000
        await save(store, Session("from-env"))
        assert await Sessions(store).find("from-env") is not None
    finally:
        await store.aclose()
    monkeypatch.setenv("AK_SESSION__DYNAMODB__ENDPOINT_URL", "127.0.0.1:8000")
    with pytest.raises(ConfigError, match="AK_SESSION__DYNAMODB__ENDPOINT_URL"):
        open_store(load_settings().session)
    monkeypatch.setenv("AK_SESSION__DYNAMODB__ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AK_SESSION__DYNAMODB__TABLE", "typo")
    with pytest.raises(ConfigError, match=r"AK_SESSION__DYNAMODB__TABLE.*TABLE_NAME"):
        open_store(load_settings().session)


# ------------------------------------------------------------ several processes
def _run_turns(endpoint: str, session_id: str, worker: int, runs: int) -> None:
    async def main() -> None:
        settings = load_settings(runner={"busy": "wait", "busy_timeout": 120, "max_attempts": 20, "lease_ttl": 30})
        async with DynamoDBStore(endpoint_url=endpoint) as store:
            runner = Runner(store, settings=settings)
            agent = ScriptedAgent(f"worker-{worker}")
            for i in range(runs):
                await runner.run(agent, session_id, f"w{worker}-{i}")

    asyncio.run(main())


async def test_processes_running_one_session_keep_every_turn_once_in_order(
    endpoint: str, make_dynamodb: Callable[..., DynamoDBStore]
) -> None:
    workers, runs = 3, 4
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_run_turns, args=(endpoint, "shared", w, runs)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        await asyncio.to_thread(process.join, 180)
    assert [p.exitcode for p in processes] == [0] * workers

    final = await Sessions(make_dynamodb()).find("shared")
    assert final is not None
    prompts = [t.prompt for t in final.turns]
    assert sorted(prompts) == sorted(f"w{w}-{i}" for w in range(workers) for i in range(runs))
    assert [t.index for t in final.turns] == list(range(workers * runs))
    for w in range(workers):  # each worker's turns in the order it ran them
        assert [p for p in prompts if p.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(runs)]
    assert final.version == workers * runs
    counts = final.namespace("scripted")
    assert all(counts[f"worker-{w}:turns"] == runs for w in range(workers))


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ cost
async def test_appending_writes_only_new_items_and_loading_the_last_n_reads_only_n(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = Session("history")
    for _ in range(3):
        for i in range(60):
            session.append_turn(sample_turn(f"t{i}"))
        await save(store, session)
    written: list[int] = []
    read: list[int] = []
    events = store.client.meta.events
    events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: written.append(len(params["TransactItems"])),
    )
    events.register("after-call.dynamodb.Query", lambda parsed, **_: read.append(len(parsed.get("Items", []))))

    loaded = await Sessions(store).find("history", last_turns=3)
    assert loaded is not None
    assert [t.index for t in loaded.turns] == [177, 178, 179]
    assert sum(read) == 3, "only the three newest turn items may be read"
    loaded.append_turn(sample_turn("new"))
    loaded.set("k", 1)
    await save(store, loaded)
    assert written == [3], "one turn, one value and the header; no earlier turn rewritten"


def test_moto_server_serves_loopback_and_resets(aws_env: None) -> None:
    server = MotoServer()
    with server:
        endpoint = server.endpoint_url
        assert endpoint.startswith("http://127.0.0.1:")
        server.reset()
        assert setup(DynamoDBOptions(endpoint_url=endpoint)) is True
        assert setup(DynamoDBOptions(endpoint_url=endpoint)) is False
        server.reset()
        assert setup(DynamoDBOptions(endpoint_url=endpoint)) is True, "reset should have dropped the table"
    with pytest.raises(RuntimeError, match="start"):
        server.reset()


async def test_a_commit_cut_off_before_its_transaction_leaves_nothing_behind(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = await save(store, Session("cut"))
    session.set("big", random_text(1_000_000, seed=7))  # chunks are written before the transaction
    session.append_turn(sample_turn("lost"))

    def connection_lost(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    store.client.meta.events.register("before-send.dynamodb.TransactWriteItems", connection_lost)
    with pytest.raises(StoreUnavailable, match="could not commit"):
        await store.commit(pending_change(session))
    store.client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", connection_lost)

    assert sort_keys(store, "cut", "c") == [], "staged chunks of a failed commit are deleted again"
    stored = await Sessions(store).find("cut")
    assert stored is not None
    assert stored.version == 1
    assert stored.get("big") is None
    assert stored.turn_count == 0


async def test_a_delete_whose_cleanup_fails_still_deletes_the_session(
    make_dynamodb: Callable[..., DynamoDBStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = make_dynamodb()
    session = Session("half")
    session.set("k", "v")
    await save(store, session)

    def connection_lost(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    store.client.meta.events.register("before-send.dynamodb.BatchWriteItem", connection_lost)
    assert await store.delete(DEFAULT_USER, "half") is True
    store.client.meta.events.unregister("before-send.dynamodb.BatchWriteItem", connection_lost)
    assert "not all of its items" in caplog.text
    assert await Sessions(store).find("half") is None
    fresh = await save(store, Session("half"))
    reloaded = await Sessions(store).find("half")
    assert reloaded is not None
    assert reloaded.get("k") is None
    assert fresh.version == 1


async def test_a_load_that_overlaps_a_commit_reads_again_instead_of_mixing_versions(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store, writer = make_dynamodb(), make_dynamodb()
    session = Session("racy")
    session.set("big", random_text(600_000, seed=8))  # chunked: its chunks go when it is overwritten
    await save(store, session)
    newer = await Sessions(writer).find("racy")
    assert newer is not None
    newer.set("big", "small now")
    change = pending_change(newer)
    landed: list[int] = []

    def commit_in_between(**_: object) -> None:
        if not landed:  # after the load read the header and the values, before it reads chunks
            landed.append(1)
            run_cleanup(writer._table, commit_change(writer._table, change, writer._plan))

    store.client.meta.events.register("after-call.dynamodb.Query", commit_in_between)
    loaded = await Sessions(store).find("racy")
    assert landed
    assert loaded is not None
    assert loaded.version == 2
    assert loaded.get("big") == "small now"
