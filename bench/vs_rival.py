"""agentkernel against the rival (PyPI ``agentkernel`` 0.9.5) in one interleaved run. Not part of CI.

The rival's import package is also called ``agentkernel`` and it needs Python >= 3.12, so it runs
in a venv of its own (``.venv-rival``, built here on first use with pyenv's newest 3.12+ Python)
and each project runs in its own worker process (``bench/_vs_rival_worker.py``) that this driver
talks to over pipes. Both run the same OpenAI Agents SDK agent (the version ``constraints.txt``
pins) with the same offline scripted model (ours, ``agentkernel_openai_agents.testing``) on the
same seeded history (2 SDK items per prior turn), against the in-memory store and one Redis server
started here. Turns alternate between the two projects (and which goes first, and whether
the bare or the kernel turn does), so load on the machine hits both alike; each measured turn
starts after a ``gc.collect()``, so it pays for the collections its own objects cause.

Printed, per store and history length (10 / 100 / 1,000 / 10,000 prior turns): one more turn
(median and p90, wall ms and CPU ms of the project's process: the machine is shared, and CPU time
is what load does not blur), the kernel's overhead over the bare SDK (each project's worker also runs
the bare SDK with the simplest memory, a Python list holding the same items; paired per repeat, CPU),
full garbage collections per turn, and on Redis the bytes Redis sent per turn (``INFO stats``
``total_net_output_bytes``, less the INFO call's own) and the memory of the session at 1,000
turns (``MEMORY USAGE`` of each of its keys).

Run:
    .venv/bin/python bench/vs_rival.py            # about 10 minutes
    .venv/bin/python bench/vs_rival.py --quick    # about 1 minute: 10 / 100 / 1,000, 3 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "bench" / "_vs_rival_worker.py"
RIVAL_VENV = ROOT / ".venv-rival"
RIVAL = "agentkernel==0.9.5"
SIDES = ("ours", "rival")


def _pin(name: str) -> str:
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.strip()
    raise SystemExit(f"constraints.txt pins no {name}")


def _python_312() -> str:
    """A Python >= 3.12 for the rival's venv: pyenv's newest, else python3.12 on PATH."""
    versions = Path.home() / ".pyenv" / "versions"
    found = sorted(
        (tuple(int(p) for p in v.name.split(".")), v / "bin" / "python")
        for v in (versions.iterdir() if versions.is_dir() else [])
        if v.name.replace(".", "").isdigit() and v.name.count(".") == 2
    )
    for version, python in reversed(found):
        if version >= (3, 12) and python.exists():
            return str(python)
    return "python3.12"


def rival_python() -> str:
    """The rival venv's python, building the venv first if it is missing."""
    python = RIVAL_VENV / "bin" / "python"
    check = [str(python), "-c", "import redis, importlib.metadata as m; print(m.version('agentkernel'))"]
    found = subprocess.run(check, capture_output=True, text=True, cwd="/tmp").stdout.strip()  # not our checkout
    if python.exists() and found == RIVAL.split("==")[1]:
        return str(python)
    print(f"building {RIVAL_VENV} with {RIVAL} ...", flush=True)
    subprocess.run([_python_312(), "-m", "venv", str(RIVAL_VENV)], check=True)
    packages = [RIVAL, _pin("openai-agents"), _pin("redis")]
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        check=True,
    )
    return str(python)


class Worker:
    """One project's worker process."""

    def __init__(self, side: str, python: str) -> None:
        env = dict(os.environ)
        env["AK_BENCH_FUNCTION_MODEL"] = str(ROOT / "adapters/openai_agents/agentkernel_openai_agents/testing.py")
        env["HOME"] = env.get("HOME", "/tmp")
        env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # and every run has tracing_disabled: no export, ever
        self.side = side
        # The rival reads config.yaml from its working directory: give it an empty one.
        cwd = Path("/tmp") / f"ak-vs-rival-{side}"
        cwd.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [python, str(WORKER), side], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd
        )

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} worker died during {cmd} {args}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.call_quit()
        self.process.wait(timeout=30)

    def call_quit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write('{"cmd": "quit"}\n')
        self.process.stdin.flush()


@dataclass
class Samples:
    """One project's measurements at one history length."""

    turn: list[float] = field(default_factory=list)
    turn_cpu: list[float] = field(default_factory=list)
    bare_cpu: list[float] = field(default_factory=list)
    overhead_cpu: list[float] = field(default_factory=list)
    full_gc: int = 0
    bare_full_gc: int = 0
    redis_bytes: list[int] = field(default_factory=list)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[round(0.9 * (len(ordered) - 1))]


class RedisProbe:
    """Reads the server's counters over a plain redis-py client."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        first = self.sent()
        self.info_cost = self.sent() - first  # what one INFO reply itself adds

    def sent(self) -> int:
        return int(self.client.info("stats")["total_net_output_bytes"])

    def session_memory(self, pattern: str) -> int:
        return sum(int(self.client.memory_usage(key) or 0) for key in self.client.scan_iter(match=pattern, count=1000))


def run_store(
    store: str, history: list[int], repeats: int, pythons: dict[str, str], url: str, window: int
) -> dict[str, Any]:
    workers = {side: Worker(side, pythons[side]) for side in SIDES}
    probe = RedisProbe(url) if store == "redis" else None
    results: dict[int, dict[str, Samples]] = {}
    memory: dict[str, int] = {}
    try:
        for side, worker in workers.items():
            worker.call("configure", store=store, url=url, prefix=f"{side}:", window=window)
        for n in history:
            sid = f"h{n}"
            results[n] = {side: Samples() for side in SIDES}
            for worker in workers.values():
                worker.call("seed", session_id=sid, turns=n)
                worker.call("turn", session_id=sid, prompt="warm-up")
                worker.call("bare", session_id=sid, prompt="warm-up")
            for r in range(repeats):
                order = SIDES if r % 2 == 0 else SIDES[::-1]
                for side in order:
                    worker, samples = workers[side], results[n][side]
                    if r % 4 < 2:
                        bare = worker.call("bare", session_id=sid, prompt=f"question {r}")
                    before = probe.sent() if probe else 0
                    turn = worker.call("turn", session_id=sid, prompt=f"question {r}")
                    if probe:
                        samples.redis_bytes.append(probe.sent() - before - probe.info_cost)
                    if r % 4 >= 2:
                        bare = worker.call("bare", session_id=sid, prompt=f"question {r}")
                    samples.turn.append(turn["wall_ms"])
                    samples.turn_cpu.append(turn["cpu_ms"])
                    samples.bare_cpu.append(bare["cpu_ms"])
                    samples.overhead_cpu.append(turn["cpu_ms"] - bare["cpu_ms"])
                    samples.full_gc += turn["full_gc"]
                    samples.bare_full_gc += bare["full_gc"]
            if probe and n == 1000:
                memory = {side: probe.session_memory(f"{side}:*{sid}*") for side in SIDES}
    finally:
        for worker in workers.values():
            worker.close()
    return {"results": results, "memory": memory}


def report(store: str, data: dict[str, Any], repeats: int) -> None:
    results: dict[int, dict[str, Samples]] = data["results"]
    print(f"\n## {store}, {repeats} turns per project and length: median / p90\n")
    head = "| prior turns | measure | ours | rival | ours / rival |"
    print(head)
    print("|---|---|---|---|---|")
    for n, sides in results.items():
        ours, rival = sides["ours"], sides["rival"]
        rows = [
            ("one more turn, wall ms", ours.turn, rival.turn),
            ("one more turn, CPU ms", ours.turn_cpu, rival.turn_cpu),
            ("bare SDK turn, CPU ms", ours.bare_cpu, rival.bare_cpu),
            ("kernel overhead, CPU ms (paired)", ours.overhead_cpu, rival.overhead_cpu),
        ]
        for label, a, b in rows:
            ma, mb = statistics.median(a), statistics.median(b)
            ratio = f"{ma / mb:.2f}" if "overhead" not in label and mb > 0 else "-"
            print(f"| {n:,} | {label} | {ma:.1f} / {p90(a):.1f} | {mb:.1f} / {p90(b):.1f} | {ratio} |")
        print(
            f"| {n:,} | full collections in kernel turns (bare turns) | {ours.full_gc} ({ours.bare_full_gc}) "
            f"| {rival.full_gc} ({rival.bare_full_gc}) | |"
        )
        if ours.redis_bytes:
            ba, bb = statistics.median(ours.redis_bytes), statistics.median(rival.redis_bytes)
            print(f"| {n:,} | bytes Redis sent per turn | {ba:,.0f} | {bb:,.0f} | {ba / bb:.2f} |")
    if data["memory"]:
        ma, mb = data["memory"]["ours"], data["memory"]["rival"]
        print(f"| 1,000 | Redis memory of the session (bytes) | {ma:,} | {mb:,} | {ma / mb:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 / 100 / 1,000 prior turns, 3 repeats")
    parser.add_argument("--history", help="comma-separated prior turn counts (default 10,100,1000,10000)")
    parser.add_argument("--repeats", type=int, help="turns measured per project and length (default 7)")
    parser.add_argument("--stores", default="memory,redis")
    parser.add_argument("--window", type=int, default=0, help="give every run SessionSettings(limit=N)")
    args = parser.parse_args()
    history = [int(n) for n in (args.history or ("10,100,1000" if args.quick else "10,100,1000,10000")).split(",")]
    repeats = args.repeats or (3 if args.quick else 7)
    pythons = {"ours": sys.executable, "rival": rival_python()}
    versions = {
        side: subprocess.run(
            [python, "-c", "import sys, importlib.metadata as m; print(sys.version.split()[0], m.version('agentkernel'))"],  # noqa: E501
            capture_output=True,
            text=True,
            check=True,
            cwd="/tmp",
        ).stdout.split()
        for side, python in pythons.items()
    }
    print(f"# agentkernel vs rival, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"command: {' '.join(['python', 'bench/vs_rival.py', *sys.argv[1:]])}")
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"ours {versions['ours'][1]} on Python {versions['ours'][0]}, rival {versions['rival'][1]} on Python "
        f"{versions['rival'][0]}; {_pin('openai-agents')}"
    )
    from agentkernel.testing.redis_server import RedisServer

    server = RedisServer()
    server.start()
    try:
        for store in args.stores.split(","):
            data = run_store(store, history, repeats, pythons, server.url, args.window)
            report(f"{store} store" + (f", SDK window {args.window} items" if args.window else ""), data, repeats)
    finally:
        server.stop()
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
