"""Redis behind a fault-injecting proxy: lost replies, dropped connections and retries (guarantees 1, 5)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from agentkernel import Runner, Sessions
from agentkernel._records import pending_change
from agentkernel.adapter import RunContext
from agentkernel.settings import load_settings
from agentkernel.stores.redis import RedisStore
from agentkernel.testing import ScriptedAgent
from agentkernel.testing.fault_proxy import FaultProxy
from agentkernel.testing.redis_server import RedisServer


@pytest.fixture
def proxy(shared_redis: RedisServer) -> Iterator[FaultProxy]:
    shared_redis.flushall()
    with FaultProxy(shared_redis.port) as proxy:
        yield proxy


@pytest.fixture
async def stores(proxy: FaultProxy, shared_redis: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """A store through the proxy (3 retries), and one straight to the server for checking."""
    through = RedisStore.from_url(f"redis://{proxy.url_host_port}/0", retries=3)
    direct = RedisStore.from_url(shared_redis.url)
    yield through, direct
    await through.aclose()
    await direct.aclose()


async def test_a_commit_whose_reply_is_lost_is_retried_and_applied_once(
    proxy: FaultProxy, stores: tuple[RedisStore, RedisStore]
) -> None:
    through, direct = stores
    runner = Runner(through, settings=load_settings())
    await runner.run(ScriptedAgent(), "lost", "warm up")

    def reply(context: RunContext) -> str:
        proxy.fail_next("drop_reply")  # the next request is this run's commit
        return "answer"

    turn = await runner.run(ScriptedAgent("a", replies=[reply]), "lost", "hi")
    assert turn.output == "answer"
    assert proxy.stats.injected["drop_reply"] == 1
    stored = await Sessions(direct).find("lost")
    assert stored is not None
    assert [t.output for t in stored.turns].count("answer") == 1
    assert stored.version == 2 and stored.turn_count == 2


async def test_dropped_idle_connections_cost_a_retry_not_an_error(
    proxy: FaultProxy, stores: tuple[RedisStore, RedisStore]
) -> None:
    through, direct = stores
    runner = Runner(through, settings=load_settings())
    await runner.run(ScriptedAgent(), "idle", "one")
    proxy.drop_connections()  # a proxy, failover or restart closed every pooled connection
    await runner.run(ScriptedAgent(), "idle", "two")
    stored = await Sessions(direct).find("idle")
    assert stored is not None and stored.turn_count == 2


async def test_a_lost_lease_reply_does_not_lock_the_session(
    proxy: FaultProxy, stores: tuple[RedisStore, RedisStore]
) -> None:
    through, _ = stores
    runner = Runner(through, settings=load_settings(runner={"lease_ttl": 60, "busy": "reject"}))
    await runner.run(ScriptedAgent(), "leased", "warm up")
    proxy.fail_next("drop_reply")  # the next request takes the lease; its reply is lost
    started = time.monotonic()
    await runner.run(ScriptedAgent(), "leased", "again")
    assert time.monotonic() - started < 10
    assert proxy.stats.injected["drop_reply"] == 1
    await runner.run(ScriptedAgent(), "leased", "and again")  # not locked for the lease's 60 s


async def test_a_resent_commit_is_recognised_after_another_writer_committed(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    from agentkernel.session import Session

    _, direct = stores
    sessions = Sessions(direct)
    first = Session("resent")
    first.set("k", 1)
    change = pending_change(first)
    await direct.commit(change)
    other = await sessions.get("resent")
    other.set("k", 2)
    await sessions.save(other)
    await direct.commit(change)  # the first commit, sent again after its reply was lost: no conflict
    stored = await sessions.get("resent")
    assert stored.version == 2 and stored.get("k") == 2
