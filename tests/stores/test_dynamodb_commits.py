"""DynamoDB commits of any size, cancelled commits, lost replies and listing cost (issue 9: 8, 10, 15, 22)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, TypedDict

import pytest
from agentkernel_langgraph import LangGraphAdapter
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages

from agentkernel._records import pending_change
from agentkernel.errors import SessionConflict, SessionTooLarge, StoreUnavailable
from agentkernel.registry import AdapterSet
from agentkernel.runner import Runner
from agentkernel.session import DEFAULT_USER, Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.dynamodb import CommitTooLarge, DynamoDBStore
from agentkernel.stores.dynamodb._items import META_SK, partition_key
from agentkernel.testing import sample_turn
from agentkernel.testing.fault_proxy import FaultProxy
from agentkernel.testing.moto_server import MotoServer
from tests.stores.test_dynamodb import (  # the moto fixtures, shared with the main DynamoDB tests
    FakeClock,
    endpoint,
    items_of,
    make_dynamodb,
    moto_server,
    random_text,
    save,
)

__all__ = ["endpoint", "make_dynamodb", "moto_server"]  # fixtures used by name below


def header_of(store: DynamoDBStore, session_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = store.client.get_item(
        TableName=store.table_name,
        Key={"pk": {"S": partition_key(DEFAULT_USER, session_id)}, "sk": {"S": META_SK}},
        ConsistentRead=True,
    ).get("Item")
    return item


def orphans(store: DynamoDBStore, session_id: str) -> list[str]:
    """Sort keys of data items no reader can reach from the header: other generations, unreferenced chunks."""
    header = header_of(store, session_id)
    items = [i for i in items_of(store, session_id) if i["sk"]["S"].startswith("g#")]
    if header is None:
        return [i["sk"]["S"] for i in items]
    gen = header["gen"]["S"]
    nonces = {i["cn"]["S"] for i in items if "cn" in i and i["sk"]["S"].startswith(f"g#{gen}#")}
    lost = []
    for item in items:
        _, item_gen, kind, rest = item["sk"]["S"].split("#", 3)
        if item_gen != gen or (kind == "c" and rest.split("#")[0] not in nonces):
            lost.append(item["sk"]["S"])
    return lost


def big_session(session_id: str, *, turns: int, keys: int) -> Session:
    session = Session(session_id, name="imported", tags=["a", "b"])
    for i in range(keys):
        session.set(f"k{i}", {"i": i})
    session.namespace("langgraph")["checkpoint"] = random_text(700_000, seed=11)  # chunked
    for i in range(turns):
        session.append_turn(sample_turn(f"t{i}"))
    return session


# --------------------------------------------------------------------------- item 15: sizes
async def test_an_import_of_hundreds_of_turns_and_keys_survives_export_delete_import(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    sessions = Sessions(store)
    await sessions.save(big_session("imp", turns=250, keys=150))
    loaded = await sessions.get("imp")
    exported = loaded.to_dict()
    await sessions.delete("imp")
    assert items_of(store, "imp") == []

    again = await sessions.save(Session.from_dict(exported))
    assert again.version == 1
    back = await sessions.get("imp")
    assert back.turn_count == 250
    assert [t.prompt for t in back.turns] == [f"t{i}" for i in range(250)]
    assert back.get("k149") == {"i": 149}
    assert back.namespace("langgraph")["checkpoint"] == random_text(700_000, seed=11)
    assert back.name == "imported"
    assert orphans(store, "imp") == []


async def test_a_huge_commit_to_an_existing_session_keeps_its_data_and_leaves_no_old_items(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    sessions = Sessions(store)
    session = await sessions.save(big_session("grow", turns=30, keys=20))
    session.namespace("crewai")["memory"] = "kept"
    session.namespace("crewai").clear()
    session.delete("k0")
    for i in range(120):
        session.set(f"new{i}", i)
    for i in range(40):
        session.append_turn(sample_turn(f"more{i}"))
    await sessions.save(session)

    back = await sessions.get("grow")
    assert back.version == 2
    assert back.turn_count == 70
    assert [t.prompt for t in back.turns][29:31] == ["t29", "more0"]
    assert back.get("k0") is None
    assert back.get("k19") == {"i": 19}
    assert back.get("new119") == 119
    assert back.namespace("langgraph")["checkpoint"] == random_text(700_000, seed=11)
    assert orphans(store, "grow") == [], "the old generation is purged after the flip"
    back.append_turn(sample_turn("small"))
    await sessions.save(back)  # an ordinary commit continues in the new generation
    assert (await sessions.get("grow", last_turns=1)).turns[0].prompt == "small"


async def test_readers_never_see_a_huge_commit_half_written(make_dynamodb: Callable[..., DynamoDBStore]) -> None:
    store, reader = make_dynamodb(), make_dynamodb()
    sessions = Sessions(store)
    session = await sessions.save(big_session("atomic", turns=5, keys=5))
    for i in range(200):
        session.set(f"n{i}", i)
        session.append_turn(sample_turn(f"x{i}"))
    seen: list[tuple[int, int, int]] = []

    def read_meanwhile(**_: object) -> None:
        # Runs on the writer's thread after each staged batch, before the header flips.
        loaded = asyncio.run(Sessions(reader).get("atomic"))
        seen.append((loaded.version, loaded.turn_count, len(loaded.keys())))

    store.client.meta.events.register("after-call.dynamodb.BatchWriteItem", read_meanwhile)
    await sessions.save(session)
    store.client.meta.events.unregister("after-call.dynamodb.BatchWriteItem", read_meanwhile)
    assert len(seen) > 5
    assert set(seen[:-1]) == {(1, 5, 5)}, "before the flip readers see the old version only"
    final = await Sessions(reader).get("atomic")
    assert (final.version, final.turn_count, len(final.keys())) == (2, 205, 205)


async def test_a_huge_commit_that_loses_a_race_is_refused_and_its_staged_items_removed(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store, rival = make_dynamodb(), make_dynamodb()
    sessions = Sessions(store)
    session = await sessions.save(big_session("race", turns=3, keys=3))
    other = await Sessions(rival).get("race")
    for i in range(150):
        session.set(f"n{i}", "y" * 5000)
    raced: list[int] = []

    def rival_commits(**_: object) -> None:
        if not raced:
            raced.append(1)
            other.set("rival", 1)
            asyncio.run(Sessions(rival).save(other))

    store.client.meta.events.register("after-call.dynamodb.BatchWriteItem", rival_commits)
    with pytest.raises(SessionConflict):
        await sessions.save(session)
    store.client.meta.events.unregister("after-call.dynamodb.BatchWriteItem", rival_commits)
    back = await Sessions(rival).get("race")
    assert back.get("rival") == 1
    assert back.get("n0") is None
    assert orphans(store, "race") == []


async def test_a_header_over_the_item_limit_is_refused_clearly_and_the_cap_counts_it(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    for session in (
        Session("named", name="n" * 450_000),
        Session("tagged", tags=[f"project-tag-{i:06d}" for i in range(20_000)]),
    ):
        with pytest.raises(CommitTooLarge, match="shorten the name or use fewer tags") as caught:
            await save(store, session)
        assert isinstance(caught.value, SessionTooLarge)
        assert items_of(store, session.id) == []
    capped = Sessions(store, max_bytes=10_000)
    with pytest.raises(SessionTooLarge, match="AK_SESSION__MAX_BYTES"):
        await capped.save(Session("wordy", name="w" * 20_000))
    assert await capped.save(Session("short", name="s")) is not None


async def test_keys_set_and_deleted_within_one_change_never_reach_the_store(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = Session("steps")
    session.set("kept", 1)
    session.set("old", 1)
    await save(store, session)
    for step in range(130):  # a LangGraph run with durability="sync": each super-step writes and drops keys
        session.namespace("langgraph")[f"write-{step}"] = step
        del session.namespace("langgraph")[f"write-{step}"]
    session.delete("old")
    session.set("old", 2)
    session.delete("old")
    change = pending_change(session)
    assert change.updated == {}
    assert change.deleted == {"shared": frozenset({"old"})}, "a stored key set then deleted is one delete"
    written: list[int] = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: written.append(len(params["TransactItems"])),
    )
    await save(store, session)
    assert written == [2]
    back = await Sessions(store).get("steps")
    assert back.keys() == ["kept"]


# ------------------------------------------------------------------- item 22: listing cost
async def test_listing_costs_follow_the_live_sessions_not_the_expired_ones(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    clock = FakeClock()
    store = make_dynamodb(ttl=60, clock=clock)
    for i in range(150):
        await save(store, Session(f"dead-{i}", user_id="u"))
    clock.now += 61
    for i in range(3):
        await save(store, Session(f"live-{i}", user_id="u"))
    queries: list[int] = []
    store.client.meta.events.register("after-call.dynamodb.Query", lambda parsed, **_: queries.append(parsed["Count"]))
    page = await store.list_sessions("u", limit=2)
    rest = await store.list_sessions("u", limit=2, cursor=page.next_cursor)
    assert [m.id for m in page.sessions + rest.sessions] == ["live-2", "live-1", "live-0"]
    assert rest.next_cursor is None
    assert len(queries) == 2 and sum(queries) == 4, "one query per page reading limit + 1 live headers, no dead one"


# ------------------------------------------------------------ item 10: lost replies
async def test_a_change_sent_again_after_another_commit_is_recognised_as_applied(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    store = make_dynamodb()
    session = await save(store, Session("again"))
    session.append_turn(sample_turn("once"))
    change = pending_change(session)
    await store.commit(change)
    other = await Sessions(store).get("again")
    other.set("meanwhile", 1)
    await save(store, other)
    await store.commit(change)  # its reply was lost; the caller sends it again
    back = await Sessions(store).get("again")
    assert [t.prompt for t in back.turns] == ["once"]
    assert back.version == 3
    stale = pending_change(session)  # a different change from the same old version still conflicts
    with pytest.raises(SessionConflict):
        await store.commit(stale)


@pytest.fixture
def proxy(moto_server: MotoServer, endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(int(endpoint.rsplit(":", 1)[1])) as proxy:
        yield proxy


@pytest.fixture
async def through_proxy(proxy: FaultProxy, endpoint: str) -> AsyncIterator[DynamoDBStore]:
    store = DynamoDBStore(endpoint_url=f"http://{proxy.url_host_port}", max_attempts=4, read_timeout=5)
    yield store
    await store.aclose()


async def test_a_transaction_whose_reply_is_lost_is_resent_by_boto3_and_reported_applied(
    proxy: FaultProxy, through_proxy: DynamoDBStore, make_dynamodb: Callable[..., DynamoDBStore]
) -> None:
    direct = make_dynamodb()
    session = await save(through_proxy, Session("lost"))
    session.set("big", random_text(500_000, seed=12))  # staged chunks must survive the resend
    session.append_turn(sample_turn("once"))
    sends: list[int] = []

    def drop_its_reply(**_: object) -> None:
        sends.append(1)
        if len(sends) == 1:
            proxy.fail_next("drop_reply")

    through_proxy.client.meta.events.register("before-send.dynamodb.TransactWriteItems", drop_its_reply)
    await save(through_proxy, session)
    assert proxy.stats.injected["drop_reply"] == 1
    assert len(sends) == 2, "boto3 resent the transaction, whose condition then failed"
    back = await Sessions(direct).get("lost")
    assert [t.prompt for t in back.turns] == ["once"]
    assert back.get("big") == random_text(500_000, seed=12)
    assert back.version == 2
    assert orphans(direct, "lost") == []


# -------------------------------------------------------------- item 8: cancelled commits
@pytest.mark.parametrize(
    ("event", "huge"),
    [
        ("before-send.dynamodb.GetItem", False),
        ("before-send.dynamodb.BatchWriteItem", False),
        ("before-send.dynamodb.TransactWriteItems", False),
        ("after-call.dynamodb.TransactWriteItems", False),
        ("before-send.dynamodb.Query", True),
        ("before-send.dynamodb.BatchWriteItem", True),
        ("before-send.dynamodb.TransactWriteItems", True),
        ("after-call.dynamodb.TransactWriteItems", True),
    ],
)
async def test_a_commit_cancelled_at_any_point_is_whole_or_absent_and_leaves_no_orphans(
    make_dynamodb: Callable[..., DynamoDBStore], event: str, huge: bool
) -> None:
    store = make_dynamodb()
    session = await save(store, big_session("cancel", turns=2, keys=2))
    session.set("big", random_text(600_000, seed=13))
    session.set("k0", "overwritten")
    for i in range(150 if huge else 1):
        session.append_turn(sample_turn(f"c{i}"))
    reached = threading.Event()
    loop = asyncio.get_running_loop()
    stalled = asyncio.Event()

    def stall(**_: object) -> None:
        if not reached.is_set():
            reached.set()
            loop.call_soon_threadsafe(stalled.set)
            time.sleep(0.3)

    store.client.meta.events.register(event, stall)
    task = asyncio.ensure_future(store.commit(pending_change(session)))
    await stalled.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.client.meta.events.unregister(event, stall)

    back = await Sessions(store).get("cancel")  # the outcome is decided once the cancellation arrives
    assert back.version in (1, 2)
    if back.version == 2:
        assert back.turn_count == 2 + (150 if huge else 1)
        assert back.get("big") == random_text(600_000, seed=13)
    else:
        assert back.turn_count == 2
        assert back.get("big") is None
    assert orphans(store, "cancel") == []


async def test_the_sweeper_removes_what_interrupted_commits_and_cleanups_left_and_spares_commits_in_flight(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    clock = FakeClock()
    store = make_dynamodb(clock=clock, max_attempts=2)
    session = Session("swept")
    session.namespace("crewai")["memory"] = "old"
    session.set("keep", 1)
    await save(store, session)

    def no_answer(**_: object) -> None:
        raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1")

    def unreachable(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    # A transaction without an answer: it may have applied, so what it staged is kept for now.
    session.set("big", random_text(600_000, seed=14))
    store.client.meta.events.register("before-send.dynamodb.TransactWriteItems", no_answer)
    with pytest.raises(StoreUnavailable):
        await store.commit(pending_change(session))
    store.client.meta.events.unregister("before-send.dynamodb.TransactWriteItems", no_answer)
    staged = orphans(store, "swept")
    assert staged
    # A cleanup cut off by an outage: the cleared namespace's old items stay behind.
    fresh = await Sessions(store).get("swept")
    fresh.namespace("crewai").clear()
    store.client.meta.events.register("before-send.dynamodb.BatchWriteItem", unreachable)
    await save(store, fresh)
    store.client.meta.events.unregister("before-send.dynamodb.BatchWriteItem", unreachable)
    leftovers = [i["sk"]["S"] for i in items_of(store, "swept") if "#v#crewai#0#" in i["sk"]["S"]]
    assert leftovers

    assert await store.sweep(older_than=3600) == len(leftovers), "staged items may belong to a commit in flight"
    assert orphans(store, "swept") == staged
    clock.now += 3601
    assert await store.sweep(older_than=3600) == len(staged)
    assert orphans(store, "swept") == []
    back = await Sessions(store).get("swept")
    assert back.get("keep") == 1
    assert back.get("big") is None
    assert back.namespaces() == ["shared"]
    assert await store.sweep(older_than=3600) == 0


class Loop(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]
    steps: int


async def test_a_langgraph_run_of_30_super_steps_with_sync_durability_commits_in_one_small_transaction(
    make_dynamodb: Callable[..., DynamoDBStore],
) -> None:
    def step(state: Loop) -> dict[str, int]:
        return {"steps": state.get("steps", 0) + 1}

    def done(state: Loop) -> dict[str, list[BaseMessage]]:
        return {"messages": [AIMessage(f"looped {state['steps']}")]}

    builder = StateGraph(Loop)
    builder.add_node("step", step)
    builder.add_node("done", done)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: "step" if s["steps"] % 30 else "done")
    graph = builder.compile().with_config(recursion_limit=100)

    store = make_dynamodb()
    runner = Runner(store, settings=load_settings(), adapters=AdapterSet([LangGraphAdapter()]))
    runner.register(graph, name="loop", durability="sync")
    sizes: list[int] = []
    store.client.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: sizes.append(len(params["TransactItems"])),
    )
    session = Session("steps")
    for run in (1, 2):
        turn = await runner.run("loop", session, "go")
        assert turn.output == f"looped {30 * run}"
    assert len(sizes) == 2 and min(sizes) > 1 and max(sizes) < 100, sizes  # no rewrite was needed
    back = await Sessions(store).get("steps")
    assert back.turn_count == 2
