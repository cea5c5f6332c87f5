"""Run leases under loss, store blips, cancellation and deletes (guarantees 1, 2 and 4)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from agentkernel import InMemoryStore, LeaseLost, Runner, SessionBusy, SessionNotFound, StoreUnavailable
from agentkernel.adapter import RunContext
from agentkernel.leases import hold_lease
from agentkernel.session import DEFAULT_USER
from agentkernel.settings import load_settings
from agentkernel.testing import ScriptedAgent


def make_runner(store: InMemoryStore, **runner: Any) -> Runner:
    return Runner(store, settings=load_settings(runner=runner))


class StolenLeaseStore(InMemoryStore):
    """Every renewal is refused, as when the lease expired and another runner took it."""

    async def renew_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        return False


class Probe:
    """A reply that records how often it started and whether it was cancelled."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = 0
        self.cancelled = 0

    async def __call__(self, context: RunContext) -> str:
        self.started += 1
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "finished"


async def test_a_run_that_loses_its_lease_is_cancelled_and_commits_nothing() -> None:
    store = StolenLeaseStore()
    probe = Probe(5.0)
    started = time.monotonic()
    with pytest.raises(LeaseLost, match="nothing was written"):
        await make_runner(store, lease_ttl=0.3).run(ScriptedAgent(replies=[probe]), "stolen", "hi")
    assert time.monotonic() - started < 2.0, "the framework's work was not cancelled"
    assert (probe.started, probe.cancelled) == (1, 1)
    assert await store.load(DEFAULT_USER, "stolen") is None


async def test_a_run_that_blocks_its_loop_past_the_lease_commits_nothing() -> None:
    store = InMemoryStore()

    def block(context: RunContext) -> str:
        time.sleep(0.4)  # a framework that blocks the event loop: the renewer cannot run
        return "late"

    with pytest.raises(LeaseLost):
        await make_runner(store, lease_ttl=0.3).run(ScriptedAgent(replies=[block]), "blocked", "hi")
    assert await store.load(DEFAULT_USER, "blocked") is None


async def test_lease_loss_while_a_consumer_holds_a_streamed_event_ends_the_stream_not_the_consumer() -> None:
    store = StolenLeaseStore()
    runner = make_runner(store, lease_ttl=0.3)
    events = runner.stream(ScriptedAgent(replies=["one two three"]), "streamed", "hi")
    first = await anext(events)
    assert first.type == "delta"
    await asyncio.sleep(0.5)  # the consumer is busy; the lease is lost meanwhile
    with pytest.raises(LeaseLost):
        async for _ in events:
            pass
    assert await store.load(DEFAULT_USER, "streamed") is None


async def test_a_conflict_retry_runs_only_under_a_held_lease() -> None:
    store = StolenLeaseStore()
    runs = 0

    async def meddle(context: RunContext) -> str:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.5)  # outlives the 0.3 s lease, which is not renewed
        return "answer"

    with pytest.raises(LeaseLost):
        await make_runner(store, lease_ttl=0.3).run(ScriptedAgent(replies=[meddle]), "once", "hi")
    assert runs == 1


async def test_deleting_a_session_during_a_run_keeps_it_deleted_and_runs_the_agent_once() -> None:
    store = InMemoryStore()
    runner = make_runner(store)
    await runner.run(ScriptedAgent(), "doomed", "hello")
    runs = 0

    async def delete_meanwhile(context: RunContext) -> str:
        nonlocal runs
        runs += 1
        await runner.sessions.delete("doomed")  # another front end deletes it while the agent runs
        return "answer"

    with pytest.raises(SessionNotFound):
        await runner.run(ScriptedAgent("late", replies=[delete_meanwhile]), "doomed", "again")
    assert runs == 1
    assert await store.load(DEFAULT_USER, "doomed") is None


class FlakyReleaseStore(InMemoryStore):
    """The first releases fail, as in a store blip at the end of a run."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.release_calls = 0

    async def release_lease(self, user_id: str, session_id: str, token: str) -> bool:
        self.release_calls += 1
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("the store blinked")
        return await super().release_lease(user_id, session_id, token)


async def test_a_failed_release_is_retried_so_the_session_is_free_at_once() -> None:
    store = FlakyReleaseStore(failures=2)
    await make_runner(store, lease_ttl=60).run(ScriptedAgent(), "blip", "hi")
    assert store.release_calls == 3
    assert await store.acquire_lease(DEFAULT_USER, "blip", "next-run", 1.0), "the session stayed locked"


class SwallowingStore(InMemoryStore):
    """A driver that eats the CancelledError of a call in flight (seen with real clients)."""

    def __init__(self) -> None:
        super().__init__()
        self.renewals = 0

    async def renew_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        self.renewals += 1
        with contextlib.suppress(asyncio.CancelledError):  # swallowed: the caller's cancel() is lost
            await asyncio.sleep(0.1)
        return await super().renew_lease(user_id, session_id, token, ttl)


async def test_cancellation_always_ends_the_renewer_and_releases_the_lease() -> None:
    store = SwallowingStore()

    async def hold() -> None:
        async with hold_lease(store, DEFAULT_USER, "swallow", ttl=0.6, wait=0):
            await asyncio.sleep(0.25)  # leave the block while the first renewal (0.2-0.3 s) is in flight

    await asyncio.wait_for(hold(), timeout=3)
    renewals = store.renewals
    assert await store.acquire_lease(DEFAULT_USER, "swallow", "next", 1.0), "the lease was not released"
    await asyncio.sleep(0.4)
    assert store.renewals == renewals, "the renewer kept renewing after the block ended"
    assert not [t for t in asyncio.all_tasks() if (t.get_name() or "").startswith("agentkernel-lease-")]


async def test_an_outer_cancellation_of_a_run_still_releases_the_lease() -> None:
    store = SwallowingStore()
    runner = make_runner(store, lease_ttl=0.6)
    task = asyncio.create_task(runner.run(ScriptedAgent(delay=5), "outer", "hi"))
    await asyncio.sleep(0.25)  # the first renewal is in flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=3)
    await asyncio.sleep(0.05)
    assert await store.acquire_lease(DEFAULT_USER, "outer", "next", 1.0)


class AmbiguousAcquireStore(InMemoryStore):
    """The first lease request is granted, but its answer is lost (the store reports a failure)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_once = False

    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        granted = await super().acquire_lease(user_id, session_id, token, ttl)
        if not self.failed_once:
            self.failed_once = True
            raise StoreUnavailable("the reply was lost")
        return granted


async def test_a_lease_granted_but_reported_as_failed_is_given_back() -> None:
    store = AmbiguousAcquireStore()
    runner = make_runner(store, lease_ttl=60, busy="reject")
    with pytest.raises(StoreUnavailable):
        await runner.run(ScriptedAgent(), "ambiguous", "hi")
    await asyncio.sleep(0.05)  # the give-back runs in the background
    turn = await runner.run(ScriptedAgent(), "ambiguous", "again")  # not busy for 60 s
    assert turn.index == 0


async def test_a_busy_refusal_says_when_the_holders_lease_really_ends() -> None:
    store = InMemoryStore()
    assert await store.acquire_lease(DEFAULT_USER, "held", "other-run", 42.0)
    with pytest.raises(SessionBusy) as refused:
        await make_runner(store, busy="reject").run(ScriptedAgent(), "held", "hi")
    assert 40 < refused.value.retry_after <= 42


class NetworkLikeStore(InMemoryStore):
    """Lease calls suspend, as a networked store's do, so other runs interleave with them."""

    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        await asyncio.sleep(0.001)
        return await super().acquire_lease(user_id, session_id, token, ttl)

    async def release_lease(self, user_id: str, session_id: str, token: str) -> bool:
        await asyncio.sleep(0.001)
        return await super().release_lease(user_id, session_id, token)


@pytest.mark.parametrize("store_class", [InMemoryStore, NetworkLikeStore])
async def test_queued_runs_on_one_session_are_served_in_arrival_order(store_class: type[InMemoryStore]) -> None:
    store = store_class()
    runner = make_runner(store, busy="wait", busy_timeout=30)
    await runner.run(ScriptedAgent(), "queue", "first")
    runs = []
    for i in range(20):
        runs.append(asyncio.create_task(runner.run(ScriptedAgent(delay=0.02), "queue", f"prompt {i}")))
        await asyncio.sleep(0.002)  # a clear arrival order
    await asyncio.gather(*runs)
    session = await runner.sessions.get("queue")
    assert [turn.prompt for turn in session.turns][1:] == [f"prompt {i}" for i in range(20)]


@pytest.mark.parametrize("store_class", [InMemoryStore, NetworkLikeStore])
async def test_a_release_hands_the_lease_to_the_next_run_without_polling(
    monkeypatch: pytest.MonkeyPatch, store_class: type[InMemoryStore]
) -> None:
    import agentkernel.leases as leases

    store = store_class()
    runner = make_runner(store, busy="wait", busy_timeout=30)
    monkeypatch.setattr(leases.random, "uniform", lambda low, high: 1000.0)  # polls 5 s apart and more
    runs = [asyncio.create_task(runner.run(ScriptedAgent(delay=0.05), "handoff", f"run {i}")) for i in range(4)]
    async with asyncio.timeout(3):  # far less than one poll: only hand-overs on release get here
        await asyncio.gather(*runs)
