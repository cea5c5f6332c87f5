"""The Redis store when the server is missing, stops, hangs or comes back: errors, never data loss."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from agentkernel._records import pending_change
from agentkernel.errors import SessionConflict, StoreUnavailable
from agentkernel.runner import Runner
from agentkernel.session import DEFAULT_USER, Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.redis import RedisStore
from agentkernel.testing import ScriptedAgent, sample_turn
from agentkernel.testing.redis_server import RedisServer

BOUND = 20.0
"""Every call below must end (with a result or an error) well within this many seconds."""


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
async def store(server: RedisServer) -> AsyncIterator[RedisStore]:
    async with RedisStore.from_url(server.url, retries=0, socket_timeout=1.0, socket_connect_timeout=1.0) as made:
        yield made


def _runner(store: RedisStore) -> Runner:
    settings = load_settings(runner={"lease_ttl": 1.0, "busy": "wait", "busy_timeout": 10.0})
    return Runner(store, settings=settings)


async def _bounded(call: object) -> object:
    return await asyncio.wait_for(call, BOUND)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here once the socket is closed


async def test_a_server_that_is_not_there_is_unavailable_not_absent() -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    async with RedisStore.from_url(url, retries=0, socket_connect_timeout=0.5) as store:
        with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1.*check that the server is running"):
            await _bounded(Sessions(store).find("s1"))
        with pytest.raises(StoreUnavailable):
            await _bounded(store.commit(pending_change(Session("s1"))))
        with pytest.raises(StoreUnavailable):
            await _bounded(store.acquire_lease(DEFAULT_USER, "s1", "token", 5))
        with pytest.raises(StoreUnavailable):
            await _bounded(store.list_sessions("anonymous"))
        with pytest.raises(StoreUnavailable):
            await _bounded(store.delete(DEFAULT_USER, "s1"))
        with pytest.raises(StoreUnavailable):
            await _bounded(_runner(store).run(ScriptedAgent(), "s1", "hello"))


async def test_a_server_stopped_mid_run_loses_nothing_and_work_continues(
    server: RedisServer, store: RedisStore
) -> None:
    runner = _runner(store)
    agent = ScriptedAgent()
    for i in range(3):
        await _bounded(runner.run(agent, "s1", f"before {i}"))

    def stop_then_answer(context: object) -> str:
        server.stop()  # the server goes away while the agent is working
        return "an answer nobody will store"

    with pytest.raises(StoreUnavailable):
        await _bounded(runner.run(ScriptedAgent(replies=[stop_then_answer]), "s1", "during"))
    with pytest.raises(StoreUnavailable):
        await _bounded(Sessions(store).find("s1"))
    with pytest.raises(StoreUnavailable):
        await _bounded(store.acquire_lease(DEFAULT_USER, "s1", "other", 5))
    stale = Session("s1")
    stale.append_turn(sample_turn("while down"))
    with pytest.raises(StoreUnavailable):
        await _bounded(store.commit(pending_change(stale)))

    server.start()  # the same port, with the data it saved
    survived = await Sessions(store).find("s1")
    assert survived is not None
    assert [t.prompt for t in survived.turns] == ["before 0", "before 1", "before 2"]
    assert survived.version == 3
    assert survived.namespace("scripted")["assistant:turns"] == 3

    await _bounded(runner.run(agent, "s1", "after"))  # waits out the old lease if it survived too
    final = await Sessions(store).find("s1")
    assert final is not None
    assert [t.prompt for t in final.turns] == ["before 0", "before 1", "before 2", "after"]
    assert [t.index for t in final.turns] == [0, 1, 2, 3]
    assert final.version == 4


async def test_a_hung_server_times_out_and_a_retry_never_duplicates(server: RedisServer, store: RedisStore) -> None:
    session = Session("s1")
    session.append_turn(sample_turn("first"))
    await Sessions(store).save(session)

    session.append_turn(sample_turn("second"))
    change = pending_change(session)
    server.pause()
    try:
        with pytest.raises(StoreUnavailable, match="did not answer in time"):
            await _bounded(Sessions(store).find("s1"))
        with pytest.raises(StoreUnavailable, match="may or may not"):
            await _bounded(store.commit(change))
    finally:
        server.resume()

    # The timed-out commit may have run once the server woke up; trying again is safe either way.
    woke = await Sessions(store).find("s1")
    assert woke is not None
    if woke.version == 2:
        with pytest.raises(SessionConflict):
            await store.commit(change)
    else:
        await store.commit(change)
    final = await Sessions(store).find("s1")
    assert final is not None
    assert [t.prompt for t in final.turns] == ["first", "second"]
    assert final.version == 2


async def test_a_full_server_refuses_the_commit_and_nothing_is_written(store: RedisStore) -> None:
    session = Session("s1")
    session.set("k", "v")
    await Sessions(store).save(session)

    session.set("k", "changed")
    session.append_turn(sample_turn("too much"))
    await store.client.config_set("maxmemory", "1")  # every write is now over the limit
    try:
        with pytest.raises(StoreUnavailable, match="refused"):
            await _bounded(store.commit(pending_change(session)))
    finally:
        await store.client.config_set("maxmemory", "0")
    stored = await Sessions(store).find("s1")
    assert stored is not None
    assert (stored.version, stored.get("k"), stored.turn_count) == (1, "v", 0)
