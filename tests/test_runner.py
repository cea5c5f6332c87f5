from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from agentkernel import (
    AdapterNotFound,
    AgentNotFound,
    AgentRunError,
    CorruptSession,
    InMemoryStore,
    InvalidSessionId,
    Message,
    Runner,
    Session,
    SessionBusy,
    SessionConflict,
    SessionNotFound,
    SessionTooLarge,
    StoreUnavailable,
)
from agentkernel._records import pending_change
from agentkernel.adapter import RunContext
from agentkernel.session import DEFAULT_USER, SYSTEM_NAMESPACE
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores import StoredSession
from agentkernel.testing import ScriptedAgent


def make_runner(store: InMemoryStore | None = None, **runner: Any) -> Runner:
    return Runner(store or InMemoryStore(), settings=load_settings(runner=runner))


async def test_run_accepts_a_string_and_commits_the_turn() -> None:
    runner = make_runner()
    session = Session(id="s1")
    turn = await runner.run(ScriptedAgent("bot", replies="hello"), session, "hi")
    assert turn.output == "hello" and turn.agent == "bot" and turn.framework == "scripted"
    assert turn.status == "ok" and turn.index == 0 and turn.usage is not None
    assert [s.kind for s in turn.steps] == ["model_call"]
    assert session.version == 1 and session.turns == (turn,)
    stored = await runner.sessions.find("s1")
    assert stored is not None and stored.turns == (turn,)
    assert stored.namespace(SYSTEM_NAMESPACE)["last_agent"] == "bot"


async def test_run_accepts_messages_names_and_session_ids() -> None:
    runner = make_runner()
    runner.register(ScriptedAgent("bot"), name="helper")
    turn = await runner.run(
        "helper", "by-id", [Message(role="system", content="be nice"), {"role": "user", "content": "yo"}]
    )
    assert turn.agent == "helper" and turn.prompt == "yo" and len(turn.input) == 2
    again = await runner.run("helper", "by-id", "second")
    assert again.index == 1 and "after 1 earlier turn" in (again.output or "")
    fresh = await runner.run("helper", None, "new")
    assert fresh.index == 0


async def test_bad_prompts_and_ids_are_refused_before_anything_runs() -> None:
    runner = make_runner()
    agent = ScriptedAgent()
    with pytest.raises(ValueError, match="prompt is empty"):
        await runner.run(agent, "s", "  ")
    with pytest.raises(ValueError, match="empty list"):
        await runner.run(agent, "s", [])
    with pytest.raises(InvalidSessionId):
        await runner.run(agent, "bad id!", "hi")
    assert await runner.sessions.find("s") is None


async def test_unknown_agent_name_and_unknown_agent_object() -> None:
    runner = make_runner()
    runner.register(ScriptedAgent("known"))
    with pytest.raises(AgentNotFound, match="known agents: known"):
        await runner.run("unknown", None, "hi")
    with pytest.raises(AdapterNotFound, match=r"builtins\.object"):
        await runner.run(object(), None, "hi")


async def test_framework_error_becomes_an_error_turn_and_commits_none_of_the_runs_state() -> None:
    runner = make_runner()
    session = Session(id="err")
    await runner.run(ScriptedAgent("bot", replies="fine"), session, "first")

    def explode(ctx: RunContext) -> str:
        ctx.state["half-done"] = True
        ctx.shared["also"] = "no"
        raise RuntimeError("model backend exploded")

    with pytest.raises(AgentRunError, match="model backend exploded") as caught:
        await runner.run(ScriptedAgent("bot", replies=[explode]), session, "second")
    turn = caught.value.turn
    assert turn.status == "error" and turn.error is not None
    assert turn.error.type == "RuntimeError" and turn.output is None and turn.index == 1
    assert isinstance(caught.value.__cause__, RuntimeError)
    stored = await runner.sessions.find("err")
    assert stored is not None
    assert [t.status for t in stored.turns] == ["ok", "error"]
    assert "half-done" not in stored.namespace("scripted") and stored.get("also") is None
    assert session.turn_count == 2  # the caller's object shows the error turn too


async def test_pending_changes_on_the_callers_session_commit_with_the_turn() -> None:
    runner = make_runner()
    session = Session(id="pending")
    session.set("plan", "pro")
    session.name = "Support chat"
    await runner.run(ScriptedAgent(), session, "hi")
    stored = await runner.sessions.find("pending")
    assert stored is not None and stored.get("plan") == "pro" and stored.name == "Support chat"
    assert not session.has_changes and session.version == 1


async def test_each_agent_sees_the_history_its_option_allows() -> None:
    runner = make_runner()
    seen: dict[str, list[str]] = {}

    def record(name: str) -> Any:
        def reply(ctx: RunContext) -> str:
            seen[name] = [t.prompt for t in ctx.history]
            return "ok"

        return reply

    runner.register(ScriptedAgent("a", replies=[record("a")]))
    runner.register(ScriptedAgent("b", replies=[record("b")]), history="own")
    for agent, prompt in (("a", "1"), ("b", "2"), ("a", "3"), ("b", "4")):
        await runner.run(agent, "hist", prompt)
    assert seen["a"] == ["1", "2"]
    assert seen["b"] == ["2"]


async def test_concurrent_tasks_on_one_session_lose_no_turn() -> None:
    runner = make_runner()
    agent = ScriptedAgent("bot", delay=0.01)
    await asyncio.gather(*(runner.run(agent, "busy", f"p{i}") for i in range(15)))
    stored = await runner.sessions.find("busy")
    assert stored is not None and stored.turn_count == 15
    assert sorted(t.prompt for t in stored.turns) == sorted(f"p{i}" for i in range(15))
    assert [t.index for t in stored.turns] == list(range(15))
    assert stored.namespace("scripted")["bot:turns"] == 15


def test_concurrent_threads_on_one_session_lose_no_turn() -> None:
    runner = make_runner()
    agent = ScriptedAgent("bot", delay=0.005)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(3):
                runner.run_sync(agent, "threads", f"t{n}-{i}")
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = runner._sync(runner.sessions.find("threads"))
    assert stored is not None and stored.turn_count == 18
    assert len({t.prompt for t in stored.turns}) == 18
    runner.close()


async def test_busy_session_is_refused_with_retry_after_under_the_reject_policy() -> None:
    store = InMemoryStore()
    slow = make_runner(store)
    rejecting = make_runner(store, busy="reject")
    first = asyncio.create_task(slow.run(ScriptedAgent("slow", delay=0.3), "one-at-a-time", "a"))
    await asyncio.sleep(0.1)
    with pytest.raises(SessionBusy) as caught:
        await rejecting.run(ScriptedAgent(), "one-at-a-time", "b")
    assert caught.value.retry_after > 0 and "one-at-a-time" in str(caught.value)
    await first
    assert (await rejecting.run(ScriptedAgent(), "one-at-a-time", "c")).index == 1


async def test_waiting_for_a_busy_session_is_bounded() -> None:
    store = InMemoryStore()
    first = asyncio.create_task(make_runner(store).run(ScriptedAgent("slow", delay=1.0), "s", "a"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(SessionBusy):
        await make_runner(store, busy_timeout=0.2).run(ScriptedAgent(), "s", "b")
    assert time.monotonic() - started < 0.9  # gave up at its bound, not when the other run ended
    await first


async def test_a_crashed_workers_lease_expires() -> None:
    store = InMemoryStore()
    assert await store.acquire_lease(DEFAULT_USER, "orphan", "dead-worker", 0.3)
    turn = await make_runner(store, busy_timeout=5).run(ScriptedAgent(), "orphan", "hi")
    assert turn.index == 0


async def test_a_long_run_keeps_its_lease_by_renewing_it() -> None:
    store = InMemoryStore()
    long_run = asyncio.create_task(make_runner(store, lease_ttl=0.3).run(ScriptedAgent(delay=0.9), "long", "a"))
    await asyncio.sleep(0.6)  # past the lease's first expiry
    with pytest.raises(SessionBusy):
        await make_runner(store, busy="reject").run(ScriptedAgent(), "long", "b")
    await long_run


async def test_conflict_during_a_run_is_retried_on_fresh_state() -> None:
    store = InMemoryStore()
    runner = make_runner(store)
    await runner.run(ScriptedAgent(), "race", "setup")
    attempts = 0

    async def meddle(ctx: RunContext) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:  # someone writes behind the lease's back
            other = await Sessions(store).find("race")
            assert other is not None
            other.set("written-meanwhile", True)
            change = pending_change(other)
            await store.commit(change)
        return f"attempt {attempts}"

    turn = await runner.run(ScriptedAgent("m", replies=[meddle]), "race", "go")
    assert turn.output == "attempt 2"
    stored = await Sessions(store).find("race")
    assert stored is not None and stored.get("written-meanwhile") is True
    assert [t.output for t in stored.turns][-1] == "attempt 2" and stored.turn_count == 2


async def test_conflict_is_raised_under_the_reject_policy_and_nothing_is_committed() -> None:
    store = InMemoryStore()
    runner = make_runner(store, conflict="reject")
    await runner.run(ScriptedAgent(), "race", "setup")

    async def meddle(ctx: RunContext) -> str:
        other = await Sessions(store).find("race")
        assert other is not None
        other.set("meanwhile", 1)
        await store.commit(pending_change(other))
        return "lost?"

    with pytest.raises(SessionConflict):
        await runner.run(ScriptedAgent("m", replies=[meddle]), "race", "go")
    stored = await Sessions(store).find("race")
    assert stored is not None and stored.turn_count == 1 and stored.get("meanwhile") == 1


async def test_another_users_session_is_not_found_and_untouched() -> None:
    runner = make_runner()
    await runner.run(ScriptedAgent(), Session("private", user_id="alice"), "secret")
    with pytest.raises(SessionNotFound):
        await runner.sessions.get("private", user_id="bob")
    with pytest.raises(SessionNotFound):
        await runner.sessions.delete("private", user_id="bob")
    assert (await runner.sessions.list(user_id="bob")).sessions == []
    # bob's run under that id is a run in bob's own session of that id
    await runner.run(ScriptedAgent(), "private", "peek", user_id="bob")
    assert (await runner.sessions.get("private", user_id="bob")).turn_count == 1
    alice = await runner.sessions.get("private", user_id="alice")
    assert alice.turn_count == 1 and alice.turns[0].prompt == "secret"


async def test_a_session_object_of_an_earlier_life_never_runs_into_a_later_one() -> None:
    runner = make_runner()
    stale = Session("reborn", user_id="alice")
    await runner.run(ScriptedAgent(), stale, "first life")
    await runner.sessions.delete("reborn", user_id="alice")
    with pytest.raises(SessionNotFound):  # deleted: the object does not bring it back
        await runner.run(ScriptedAgent(), stale, "resurrect")
    assert await runner.sessions.find("reborn", user_id="alice") is None

    await runner.run(ScriptedAgent(), "reborn", "second life", user_id="alice")
    stale.set("leak", "from the first life")
    with pytest.raises(SessionNotFound):  # created again: a later life, not the object's
        await runner.run(ScriptedAgent(), stale, "stale")
    now = await runner.sessions.get("reborn", user_id="alice")
    assert [t.prompt for t in now.turns] == ["second life"] and now.get("leak") is None


async def test_size_cap_gives_a_clear_error_and_writes_nothing() -> None:
    runner = Runner(InMemoryStore(), settings=load_settings(session={"max_bytes": 2000}))
    session = Session("big")
    session.set("blob", "x" * 5000)
    with pytest.raises(SessionTooLarge, match="AK_SESSION__MAX_BYTES"):
        await runner.run(ScriptedAgent(), session, "hi")
    assert await runner.sessions.find("big") is None


class FlakyStore(InMemoryStore):
    """Fails loads while ``down`` is set, like a backend that is unreachable."""

    down = False

    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> Session | None:
        if self.down:
            raise StoreUnavailable("store is down; check that the backend is reachable")
        return await super().load(user_id, session_id, last_turns=last_turns)


async def test_a_failed_read_never_resets_a_session() -> None:
    store = FlakyStore()
    runner = make_runner(store)
    for i in range(5):
        await runner.run(ScriptedAgent(), "long-history", f"turn {i}")
    store.down = True
    with pytest.raises(StoreUnavailable):
        await runner.run(ScriptedAgent(), "long-history", "lost?")
    store.down = False
    stored = await Sessions(store).find("long-history")
    assert stored is not None and stored.turn_count == 5 and stored.version == 5
    assert await store.acquire_lease(DEFAULT_USER, "long-history", "next", 1)  # the failed run released its lease


async def test_stream_yields_deltas_then_the_committed_turn() -> None:
    runner = make_runner()
    events = [e async for e in runner.stream(ScriptedAgent(replies="one two three"), "st", "go")]
    assert [e.text for e in events if e.type == "delta"] == ["one ", "two ", "three"]
    assert events[-1].type == "turn" and events[-1].turn is not None
    assert events[-1].turn.output == "one two three"


async def test_cancelled_run_commits_nothing_and_releases_the_lease() -> None:
    store = InMemoryStore()
    runner = make_runner(store)
    task = asyncio.create_task(runner.run(ScriptedAgent(delay=5), "cancel-me", "hi"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await Sessions(store).find("cancel-me") is None
    assert await store.acquire_lease(DEFAULT_USER, "cancel-me", "next", 1)


async def test_run_sync_inside_an_event_loop_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"await runner\.run"):
        make_runner().run_sync(ScriptedAgent(), None, "hi")


def test_run_sync_from_a_script() -> None:
    runner = make_runner()
    assert runner.run_sync(ScriptedAgent(replies="sync!"), "s", "hi").output == "sync!"
    runner.close()


async def test_one_agent_object_serves_many_sessions_without_being_mutated() -> None:
    agent = ScriptedAgent("bot", replies=["first", "second"])
    before = vars(agent).copy()
    runner = make_runner()
    outputs = await asyncio.gather(*(runner.run(agent, f"s{i}", "hi") for i in range(5)))
    assert [t.output for t in outputs] == ["first"] * 5
    assert vars(agent) == before


async def test_a_corrupt_record_met_during_a_run_is_corrupt_session_not_an_error_turn() -> None:
    store = InMemoryStore()
    runner = make_runner(store)
    await runner.run(ScriptedAgent(), "damaged", "one")
    store._sessions[(DEFAULT_USER, "damaged")].turns[0] = '{"v": 2, "kind": "turn", "data": {"agent": 3}}'
    with pytest.raises(CorruptSession, match="damaged"):
        await runner.run(ScriptedAgent(replies=[lambda ctx: str([t.prompt for t in ctx.history])]), "damaged", "two")
    stored = await Sessions(store).find("damaged")
    assert stored is not None and stored.version == 1 and stored.turn_count == 1


class CountingStore(InMemoryStore):
    """An in-memory store that counts session loads and says whether a run lease was held."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[bool] = []  # one entry per load: was any lease held at the time?

    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> StoredSession | None:
        self.loads.append(not await self.acquire_lease(user_id, session_id, "probe", 1.0))
        if not self.loads[-1]:
            await self.release_lease(user_id, session_id, "probe")
        return await super().load(user_id, session_id, last_turns=last_turns)


def two_agents(store: InMemoryStore) -> Runner:
    runner = make_runner(store)
    runner.register(ScriptedAgent("first"))
    runner.register(ScriptedAgent("second"))
    return runner


async def test_without_an_agent_the_session_continues_with_its_last_agent() -> None:
    store = CountingStore()
    runner = two_agents(store)
    assert (await runner.run(None, "s-1", "hi")).agent == "first"  # a new session: the first registered
    await runner.run("second", "s-1", "switch")
    store.loads.clear()
    turn = await runner.run(None, "s-1", "and now?")
    assert turn.agent == "second"
    assert store.loads == [True]  # chosen from the one read the run makes, under its lease
    events = [event async for event in runner.stream(None, "s-1", "streamed")]
    assert {event.agent for event in events} == {"second"}  # every event names the agent that ran


async def test_a_last_agent_no_longer_registered_falls_back_to_the_first() -> None:
    store = InMemoryStore()
    runner = two_agents(store)
    await runner.run("second", "s-1", "hi")
    fewer = make_runner(store)
    fewer.register(ScriptedAgent("first"))
    assert (await fewer.run(None, "s-1", "again")).agent == "first"


async def test_no_agent_given_and_none_registered_is_a_clear_error() -> None:
    store = CountingStore()
    with pytest.raises(AgentNotFound, match="no agent given and none registered"):
        await make_runner(store).run(None, "s-1", "hi")
    assert store.loads == []  # refused before it read anything


async def test_one_drain_helper_gives_run_from_stream() -> None:
    import inspect

    from agentkernel_crewai.adapter import CrewAIAdapter

    from agentkernel.adapter import AdapterResult, RunEvent, result_of
    from agentkernel.testing import ScriptedAdapter

    async def events(*items: RunEvent) -> Any:
        for item in items:
            yield item

    done = AdapterResult(output="done")
    assert await result_of(events(RunEvent(type="delta", text="d"), RunEvent(type="result", result=done))) is done
    with pytest.raises(RuntimeError, match="without a result event"):
        await result_of(events(RunEvent(type="delta", text="d")))
    for adapter in (ScriptedAdapter, CrewAIAdapter):  # run is the drained stream, not a copy of the loop
        assert "return await result_of(self.stream(agent, context))" in inspect.getsource(adapter.run)
