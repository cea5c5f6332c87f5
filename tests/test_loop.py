"""The one event-loop thread for synchronous callers: Ctrl-C cancels the call wherever it lands.

The interrupt is a real SIGINT, sent at exact points: while the call is being handed to the loop
(before the coroutine starts), and once the agent has said it started. A run interrupted at any
point must leave its session's lease free and nothing committed when the caller goes on.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkernel._loop import LoopThread
from agentkernel.adapter import RunContext
from agentkernel.registry import AgentRegistry
from agentkernel.runner import Runner
from agentkernel.settings import load_settings
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import ScriptedAgent

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signals")


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


def ctrl_c() -> None:
    """SIGINT to the main thread, where a terminal's Ctrl-C is handled (the loop thread blocks it)."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def interrupt_after_scheduling(monkeypatch: pytest.MonkeyPatch, loop: LoopThread, after: float = 0.0) -> None:
    """SIGINT to this process ``after`` seconds after the next call is handed to the loop (0: at once)."""
    inner = loop._loop
    original = inner.call_soon_threadsafe
    armed = [True]

    def hooked(callback: Callable[..., Any], *args: Any, context: Any = None) -> Any:
        handle = original(callback, *args, context=context)
        if armed[0]:
            armed[0] = False
            if after:
                threading.Timer(after, ctrl_c).start()
            else:  # right here, in the caller's thread, before it can wait for the call
                signal.raise_signal(signal.SIGINT)
        return handle

    monkeypatch.setattr(inner, "call_soon_threadsafe", hooked)


def slow_agent(started: threading.Event, finished: list[str]) -> ScriptedAgent:
    async def answer(context: RunContext) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            finished.append("cleaned up")
        return "too late"

    return ScriptedAgent("slow", replies=[answer])


def make_runner(store: InMemoryStore, agent: ScriptedAgent) -> Runner:
    agents = AgentRegistry()
    agents.register(agent)
    return Runner(store, settings=load_settings(), agents=agents)


def lease_is_free(loop: LoopThread, store: InMemoryStore, session_id: str) -> bool:
    return loop.run(store.acquire_lease("anonymous", session_id, "probe", 1.0))


def test_ctrl_c_before_the_coroutine_starts_means_it_never_runs(
    loop: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    gate = threading.Event()
    loop._loop.call_soon_threadsafe(gate.wait, 10)  # the loop is busy: the call cannot start yet

    async def body() -> str:
        ran.append("started")
        return "done"

    interrupt_after_scheduling(monkeypatch, loop)
    threading.Timer(0.2, gate.set).start()
    with pytest.raises(KeyboardInterrupt):
        loop.run(body())
    assert gate.is_set()  # the interrupt came back only once the loop had dealt with the call
    loop.run(asyncio.sleep(0))
    assert ran == []  # it was cancelled before it ran
    assert loop.run(asyncio.sleep(0, "alive")) == "alive"  # and the loop goes on serving


def test_ctrl_c_as_a_run_is_handed_over_cancels_it_and_frees_the_lease(
    loop: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = InMemoryStore()
    started, finished = threading.Event(), []
    runner = make_runner(store, slow_agent(started, finished))
    interrupt_after_scheduling(monkeypatch, loop)
    with pytest.raises(KeyboardInterrupt):
        loop.run(runner.run(None, "s-1", "hi"))
    assert lease_is_free(loop, store, "s-1")
    assert loop.run(store.load("anonymous", "s-1")) is None  # nothing committed


def test_ctrl_c_while_the_agent_runs_waits_for_it_to_finish(loop: LoopThread) -> None:
    store = InMemoryStore()
    started, finished = threading.Event(), []
    runner = make_runner(store, slow_agent(started, finished))

    def interrupt_once_started() -> None:
        if started.wait(10):
            ctrl_c()

    threading.Thread(target=interrupt_once_started).start()
    with pytest.raises(KeyboardInterrupt):
        loop.run(runner.run(None, "s-1", "hi"))
    assert finished == ["cleaned up"]  # the run was cancelled and had finished before we got here
    assert lease_is_free(loop, store, "s-1")
    assert loop.run(store.load("anonymous", "s-1")) is None


def test_the_loop_thread_leaves_ctrl_c_to_the_caller(loop: LoopThread) -> None:
    async def blocked() -> bool:
        return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())

    assert loop.run(blocked())
    assert loop.run(asyncio.to_thread(lambda: signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())))


@settings(max_examples=25, deadline=None)
@given(after=st.floats(min_value=0.0, max_value=0.03))
def test_ctrl_c_at_any_moment_leaves_the_lease_free_and_nothing_committed(after: float) -> None:
    loop = LoopThread()
    try:
        store = InMemoryStore()
        started, finished = threading.Event(), []
        runner = make_runner(store, slow_agent(started, finished))
        with pytest.MonkeyPatch.context() as monkeypatch:
            interrupt_after_scheduling(monkeypatch, loop, after)
            with pytest.raises(KeyboardInterrupt):
                loop.run(runner.run(None, "s-1", "hi"))
        assert finished == (["cleaned up"] if started.is_set() else [])
        assert lease_is_free(loop, store, "s-1")
        saved = loop.run(store.load("anonymous", "s-1"))
        assert saved is None, [(t.status, t.output, t.error) for t in saved.turns]
    finally:
        loop.stop()


def test_results_and_errors_come_back(loop: LoopThread) -> None:
    async def fail() -> None:
        raise ValueError("no")

    assert loop.run(asyncio.sleep(0, 42)) == 42
    with pytest.raises(ValueError, match="no"):
        loop.run(fail())
