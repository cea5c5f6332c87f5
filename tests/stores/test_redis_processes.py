"""Several OS processes working on one Redis session at once: every turn kept exactly once, in order."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
from collections.abc import Iterator
from typing import Any

import pytest

from agentkernel._records import pending_change
from agentkernel.errors import SessionConflict
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.redis import RedisStore
from agentkernel.testing import ScriptedAgent, sample_turn
from agentkernel.testing.redis_server import RedisServer

PROCESSES = 3
RUNS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


def _worker(target: str, url: str, session_id: str, worker: int, barrier: Any, results: Any) -> None:
    barrier.wait(timeout=60)  # start together, so the processes really overlap
    results.put((worker, globals()[target](url, session_id, worker)))


def _run_agent(url: str, session_id: str, worker: int) -> int:
    """One process: run the scripted agent RUNS times through the Runner (lease, retry policy)."""

    async def work() -> int:
        settings = load_settings(runner={"busy": "wait", "busy_timeout": 60.0, "lease_ttl": 10.0, "max_attempts": 5})
        async with RedisStore.from_url(url) as store:
            runner = Runner(store, settings=settings)
            for i in range(RUNS):
                await runner.run(ScriptedAgent("assistant"), session_id, f"worker {worker} run {i}", user_id="multi")
        return RUNS

    return asyncio.run(work())


def _append_without_lease(url: str, session_id: str, worker: int) -> int:
    """One process: load, append, commit, and on a conflict reload and try again (no lease)."""

    async def work() -> int:
        conflicts = 0
        async with RedisStore.from_url(url) as store:
            for i in range(RUNS):
                while True:
                    session = await Sessions(store).find(session_id, last_turns=0)
                    assert session is not None
                    session.append_turn(sample_turn(f"worker {worker} append {i}"))
                    await asyncio.sleep(0.02)  # widen the window in which another process commits
                    try:
                        await store.commit(pending_change(session))
                        break
                    except SessionConflict:
                        conflicts += 1
        return conflicts

    return asyncio.run(work())


def _in_processes(target: str, url: str, session_id: str) -> list[int]:
    """Run ``target`` in PROCESSES spawned processes at once; their results in worker order."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(target, url, session_id, worker, barrier, results))
        for worker in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        collected = dict(results.get(timeout=120) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes)
    return [collected[worker] for worker in range(PROCESSES)]


async def test_runs_from_several_processes_keep_every_turn_once(server: RedisServer) -> None:
    server.flushall()
    results = await asyncio.to_thread(_in_processes, "_run_agent", server.url, "shared")
    assert results == [RUNS] * PROCESSES

    async with RedisStore.from_url(server.url) as store:
        final = await Sessions(store).find("shared", user_id="multi")
    assert final is not None
    total = PROCESSES * RUNS
    prompts = [t.prompt for t in final.turns]
    assert sorted(prompts) == sorted(f"worker {w} run {i}" for w in range(PROCESSES) for i in range(RUNS))
    assert [t.index for t in final.turns] == list(range(total))
    for w in range(PROCESSES):  # each process's own runs appear in the order it made them
        assert [p for p in prompts if p.startswith(f"worker {w} ")] == [f"worker {w} run {i}" for i in range(RUNS)]
    for turn in final.turns:  # every run saw the whole history before it: one consistent order
        seen = re.search(r"after (\d+) earlier", turn.output or "")
        assert seen is not None
        assert int(seen.group(1)) == turn.index
    assert final.namespace("scripted")["assistant:turns"] == total
    assert final.version == total


async def test_commits_from_several_processes_without_a_lease_conflict_but_lose_nothing(server: RedisServer) -> None:
    server.flushall()
    async with RedisStore.from_url(server.url) as store:
        await store.commit(pending_change(Session("raced")))
        conflicts = await asyncio.to_thread(_in_processes, "_append_without_lease", server.url, "raced")
        final = await Sessions(store).find("raced")
    assert final is not None
    prompts = [t.prompt for t in final.turns]
    assert sorted(prompts) == sorted(f"worker {w} append {i}" for w in range(PROCESSES) for i in range(RUNS))
    assert [t.index for t in final.turns] == list(range(PROCESSES * RUNS))
    assert final.version == 1 + PROCESSES * RUNS
    assert sum(conflicts) > 0, "the processes never overlapped, so the test proved nothing"
