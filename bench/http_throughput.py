"""``POST /run`` throughput and latency against calling the same scripted agent bare, in-process.

Configurations, each driven by the same load (``--requests`` runs spread over ``--sessions``
sessions, ``--concurrency`` in flight at once):

* ``bare``: ``await runner.run(agent, session_id, prompt)`` in this process, in-memory store.
* ``http 1 worker, in_memory``: ``agentkernel serve`` (uvicorn) on a loopback port.
* ``http 1 worker, redis`` and ``http 2 workers, redis``: the same against one local redis-server,
  when the Redis store is installed.

The load generator (httpx) runs on the same machine as the server, so on a small machine the
figures include the client's own cost; the ratios are what to read. It also measures how long the
service takes to start, with and without the framework imports (fastapi, uvicorn).

Run:  PYTHONPATH=. python bench/http_throughput.py [--requests 600] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agentkernel.runner import Runner
from agentkernel.settings import load_settings
from agentkernel.testing import ScriptedAgent

ROOT = Path(__file__).resolve().parents[1]
AGENTS = 'from agentkernel.testing import ScriptedAgent\nagents = [ScriptedAgent("bench", replies=["ok"])]\n'


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def drive(name: str, call: Callable[[int], Awaitable[bool]], requests: int, concurrency: int) -> Result:
    result = Result(name)
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            started = time.perf_counter()
            ok = await call(i)
            if ok:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    for i in range(min(50, requests)):  # warm up
        await call(-1 - i)
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    result.seconds = time.perf_counter() - started
    return result


async def bare(requests: int, concurrency: int, sessions: int) -> Result:
    agent = ScriptedAgent("bench", replies=["ok"])
    async with Runner(settings=load_settings()) as runner:

        async def call(i: int) -> bool:
            await runner.run(agent, f"bench-{i % sessions}", "hello")
            return True

        return await drive("bare runner.run, in_memory", call, requests, concurrency)


async def over_http(name: str, url: str, requests: int, concurrency: int, sessions: int) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def call(i: int) -> bool:
            response = await client.post("/run", json={"message": "hello", "session_id": f"bench-{i % sessions}"})
            return response.status_code == 200

        return await drive(name, call, requests, concurrency)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def serve(module: Path, workers: int, stack: ExitStack, **env: str) -> tuple[str, float]:
    """Start ``agentkernel serve``; return its URL and the seconds until /health answered."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "agentkernel.cli",
        "serve",
        str(module),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(args, env=environment(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(lambda: (process.terminate(), process.wait(timeout=20)))
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return url, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)


def import_times(module: Path) -> dict[str, float]:
    """Seconds to import the frameworks, then to import agentkernel's app and build it, in a fresh process."""
    probe = (
        "import time, json; t0 = time.perf_counter()\n"
        "import fastapi, uvicorn, starlette.applications, pydantic, typer, rich\n"
        "t1 = time.perf_counter()\n"
        "from agentkernel.http import create_app\n"
        "t2 = time.perf_counter()\n"
        "app = create_app()\n"
        "t3 = time.perf_counter()\n"
        "print(json.dumps({'frameworks': t1 - t0, 'agentkernel_import': t2 - t1, 'create_app': t3 - t2}))\n"
    )
    best: dict[str, float] = {}
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env=environment(AK_API__AGENTS=str(module)),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for key, value in json.loads(out).items():
            best[key] = min(best.get(key, value), value)
    return best


def report(results: list[Result], baseline: Result) -> None:
    print(f"{'configuration':<32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'vs bare':>8}")
    for r in results:
        print(
            f"{r.name:<32} {r.rate:8.0f} {r.percentile(0.5):8.2f} {r.percentile(0.99):8.2f} {r.errors:6d} "
            f"{r.rate / baseline.rate:8.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=100)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus; "
        f"{args.requests} requests over {args.sessions} sessions, {args.concurrency} in flight"
    )

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        module = Path(tmp) / "bench_agents.py"
        module.write_text(AGENTS)
        times = import_times(module)
        print(
            f"start-up: framework imports {times['frameworks']:.3f}s, agentkernel import "
            f"{times['agentkernel_import']:.3f}s, create_app {times['create_app']:.3f}s "
            f"(agentkernel's own part: {times['agentkernel_import'] + times['create_app']:.3f}s)"
        )

        results = [asyncio.run(bare(args.requests, args.concurrency, args.sessions))]
        url, ready = serve(module, 1, stack)
        print(f"start-up: `agentkernel serve` answered /health {ready:.2f}s after spawn (1 worker, in_memory)")
        results.append(
            asyncio.run(over_http("http 1 worker, in_memory", url, args.requests, args.concurrency, args.sessions))
        )
        if importlib.util.find_spec("agentkernel.stores.redis") is not None:
            from agentkernel.testing.redis_server import RedisServer

            redis = stack.enter_context(RedisServer())
            for workers in (1, 2):
                env = {
                    "AK_SESSION__TYPE": "redis",
                    "AK_SESSION__REDIS__URL": redis.url,
                    "AK_SESSION__REDIS__PREFIX": f"bench{workers}:",
                }
                url, ready = serve(module, workers, stack, **env)
                print(
                    f"start-up: `agentkernel serve` answered /health {ready:.2f}s after spawn "
                    f"({workers} worker{'s' if workers > 1 else ''}, redis)"
                )
                name = f"http {workers} worker{'s' if workers > 1 else ''}, redis"
                results.append(asyncio.run(over_http(name, url, args.requests, args.concurrency, args.sessions)))
        else:
            print("redis: agentkernel.stores.redis is not installed; skipping the Redis configurations")
    report(results, results[0])


if __name__ == "__main__":
    main()
