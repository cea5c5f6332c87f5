"""Commits per second against a local redis-server, with 1, 8 and 32 concurrent writers.

Three workloads, each writer appending one turn per commit:

* ``distinct``: every writer has a session of its own (no contention).
* ``shared``: every writer commits to one session; a commit made on a stale version is refused
  (``SessionConflict``), and the writer reloads and tries again. Conflicts and retries are counted.
* ``shared+lease``: the same session through ``Runner.run`` with the scripted agent: the run lease
  serialises the writers, so they wait instead of conflicting.

Writers are asyncio tasks in this one process, sharing one connection pool, so the figures include
the client's own encoding and decoding (Python), which is usually the bottleneck on a small machine.

Run:  PYTHONPATH=. python bench/redis_throughput.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from dataclasses import dataclass

from agentkernel._records import pending_change
from agentkernel.errors import SessionConflict
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.redis import RedisStore
from agentkernel.testing import ScriptedAgent, sample_turn
from agentkernel.testing.redis_server import RedisServer


@dataclass
class Result:
    workload: str
    writers: int
    commits: int = 0
    conflicts: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.commits / self.seconds if self.seconds else 0.0


async def _append_loop(store: RedisStore, session_id: str, result: Result, until: float) -> None:
    while time.perf_counter() < until:
        session = await Sessions(store).find(session_id, last_turns=0)
        if session is None:
            session = Session(session_id)
        session.append_turn(sample_turn("benchmark"))
        try:
            await store.commit(pending_change(session))
        except SessionConflict:
            result.conflicts += 1  # the writer reloads and tries again: each conflict is one retry
            continue
        result.commits += 1


async def _run_loop(runner: Runner, session_id: str, result: Result, until: float) -> None:
    agent = ScriptedAgent("bench", replies=["ok"])
    while time.perf_counter() < until:
        await runner.run(agent, session_id, "benchmark")
        result.commits += 1


async def measure(store: RedisStore, workload: str, writers: int, seconds: float) -> Result:
    result = Result(workload, writers)
    tag = f"{workload}-{writers}".replace("+", "-")
    start = time.perf_counter()
    until = start + seconds
    if workload == "distinct":
        tasks = [_append_loop(store, f"{tag}-{n}", result, until) for n in range(writers)]
    elif workload == "shared":
        await store.commit(pending_change(Session(tag)))
        tasks = [_append_loop(store, tag, result, until) for _ in range(writers)]
    else:
        settings = load_settings(runner={"busy": "wait", "busy_timeout": 60.0, "history_turns": 0})
        runner = Runner(store, settings=settings)
        tasks = [_run_loop(runner, tag, result, until) for _ in range(writers)]
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - start
    return result


async def main(seconds: float) -> None:
    print(f"machine: {platform.machine()}, {_cores()} cores, Python {platform.python_version()}, {platform.system()}")
    with RedisServer() as server:
        print(f"server: {_server_version()} on {server.url} (no persistence), {seconds:g}s per row\n")
        async with RedisStore.from_url(server.url, max_connections=64) as store:
            rows = [
                await measure(store, workload, writers, seconds)
                for workload in ("distinct", "shared", "shared+lease")
                for writers in (1, 8, 32)
            ]
    print(f"{'workload':<14}{'writers':>8}{'commits/s':>12}{'commits':>10}{'conflicts':>11}{'retries/commit':>16}")
    for row in rows:
        per_commit = row.conflicts / row.commits if row.commits else 0.0
        print(
            f"{row.workload:<14}{row.writers:>8}{row.rate:>12.0f}{row.commits:>10}{row.conflicts:>11}{per_commit:>16.2f}"
        )


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _server_version() -> str:
    import shutil
    import subprocess

    binary = shutil.which("redis-server") or "redis-server"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    return out.split(" sha=")[0].strip()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each row runs (default 2)")
    asyncio.run(main(parser.parse_args().seconds))
