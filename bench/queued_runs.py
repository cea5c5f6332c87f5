"""Wall time of N runs queued on one session, each taking a fixed model time.

Every run waits for the session's lease (``AK_RUNNER__BUSY=wait``); the ideal is N x the model time.
What the kernel adds is how fast a released lease reaches the next run: within one process a
release hands it on at once, in arrival order; across processes the next run polls for it.

Run:  PYTHONPATH=. python bench/queued_runs.py [--runs 20] [--model-ms 50] [--repeats 5] [--redis]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from agentkernel.runner import Runner
from agentkernel.settings import load_settings
from agentkernel.stores import InMemoryStore, SessionStore
from agentkernel.testing import ScriptedAgent
from agentkernel.testing.redis_server import RedisServer


async def queued(store: SessionStore, runs: int, model_s: float, session_id: str) -> float:
    runner = Runner(store, settings=load_settings(runner={"busy": "wait", "busy_timeout": 120}))
    agent = ScriptedAgent(delay=model_s)
    await runner.run(ScriptedAgent(), session_id, "warm up")
    started = time.perf_counter()
    await asyncio.gather(*(runner.run(agent, session_id, f"prompt {i}") for i in range(runs)))
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model-ms", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--redis", action="store_true", help="also on a local redis-server")
    args = parser.parse_args()
    model_s = args.model_ms / 1000
    ideal = args.runs * model_s
    stores: dict[str, object] = {"in_memory": None}
    server: RedisServer | None = None
    if args.redis:
        from agentkernel.stores.redis import RedisStore

        server = RedisServer()
        server.start()
        stores["redis"] = RedisStore.from_url(server.url)
    try:
        print(f"{args.runs} runs of {args.model_ms:.0f} ms queued on one session; ideal {ideal:.2f} s")
        print(f"load average {os.getloadavg()[0]:.2f}")
        for name, made in stores.items():
            times = []
            for i in range(args.repeats):
                store = made if isinstance(made, SessionStore) else InMemoryStore()
                times.append(await queued(store, args.runs, model_s, f"queue-{name}-{i}"))
            times.sort()
            p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
            print(f"{name:10} median {statistics.median(times):.3f} s  p90 {p90:.3f} s  "
                  f"overhead per hand-over {(statistics.median(times) - ideal) / args.runs * 1000:.1f} ms")
    finally:
        for made in stores.values():
            if isinstance(made, SessionStore):
                await made.aclose()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
