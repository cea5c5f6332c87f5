"""Where one more OpenAI Agents SDK turn spends its time, at 10 to 10,000 prior turns, in memory.

A session is seeded with N prior turns (transcript and the SDK's conversation items, as real runs
write them), then ``Runner.run`` takes one more turn with an offline scripted model, a few times.
The same agent also runs bare (the SDK with its own in-memory ``SQLiteSession`` holding the same
items), so the difference is the kernel's cost. Times are CPU time of this process (the machine
is shared). Garbage collections during the measured turns are counted with
``gc.callbacks``; ``--profile`` prints the top functions of one turn at the largest history.

Run:
    .venv/bin/python bench/turn_profile.py
    .venv/bin/python bench/turn_profile.py --history 1000,10000 --repeats 5 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import os
import pstats
import statistics
import sys
import time
from typing import Any

from agentkernel_openai_agents.memory import NamespaceSession

from agentkernel import InMemoryStore, Runner, Session, SessionStore
from agentkernel._records import mark_committed, pending_change
from agentkernel.history import cursor_key
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.transcript import Message, Step, Turn, Usage

AGENT = "bench"
BATCH = 200


def reply(texts: list[str]) -> str:
    return f"answer {len(texts)}: sunny, 24 degrees, light wind from the north-west"


def seeded_items(i: int) -> list[dict[str, Any]]:
    """The SDK items one turn leaves: the user's message and the model's answer."""
    return [
        {"role": "user", "content": f"question number {i} about the weather in Lisbon"},
        {
            "id": f"msg_{hashlib.md5(str(i).encode()).hexdigest()}",  # random hex, as SDK ids are
            "content": [{"annotations": [], "text": reply([""] * i), "type": "output_text", "logprobs": []}],
            "role": "assistant",
            "status": "completed",
            "type": "message",
        },
    ]


def seeded_turn(i: int) -> Turn:
    now = time.time()
    return Turn(
        agent=AGENT,
        framework="openai_agents",
        input=[Message(role="user", content=f"question number {i} about the weather in Lisbon")],
        output=reply([""] * i),
        steps=[
            Step(
                kind="model_call",
                name="function-model",
                agent=AGENT,
                result=reply([""] * i),
                started_at=now,
                ended_at=now,
                usage=Usage(input_tokens=9, output_tokens=9, total_tokens=18, requests=1),
            )
        ],
        started_at=now,
        ended_at=now,
        usage=Usage(input_tokens=9, output_tokens=9, total_tokens=18, requests=1),
        metadata={"last_agent": AGENT},
    )


async def seed(store: SessionStore, session_id: str, turns: int) -> list[dict[str, Any]]:
    """Store ``turns`` prior turns in ``session_id``; return the SDK items, for the bare run."""
    session = Session(session_id)
    state = session.namespace("openai_agents")
    memory = NamespaceSession(state, session_id, agent=AGENT)
    items: list[dict[str, Any]] = []
    for i in range(turns):
        session.append_turn(seeded_turn(i))
        new = seeded_items(i)
        items.extend(new)
        await memory.add_items(new)  # type: ignore[arg-type]
        if (i + 1) % BATCH == 0 or i + 1 == turns:
            state[cursor_key(AGENT)] = i + 1
            change = pending_change(session)
            await store.commit(change)
            mark_committed(session, change)
    return items


class GCWatch:
    """Counts collections per generation and the time the full ones take."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.full_ms: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.counts[info["generation"]] += 1
        if info["generation"] == 2:
            self.full_ms.append((time.perf_counter() - self._started) * 1e3)

    def __enter__(self) -> GCWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def time_get_items(store: SessionStore, session_id: str) -> float:
    """Median CPU ms of the adapter's ``get_items()`` (the whole conversation) on a freshly loaded session."""
    times = []
    for _ in range(5):
        session = await Sessions(store).find(session_id)
        assert session is not None
        memory = NamespaceSession(session.namespace("openai_agents"), session_id, agent=AGENT)
        started = time.process_time()
        await memory.get_items()
        times.append((time.process_time() - started) * 1e3)
    return statistics.median(times)


async def measure(history: int, repeats: int, profile: bool) -> dict[str, Any]:
    from agentkernel_openai_agents.testing import FunctionModel
    from agents import Agent, RunConfig, SQLiteSession
    from agents import Runner as SDKRunner

    agent = Agent(name=AGENT, model=FunctionModel(reply))
    store = InMemoryStore()
    items = await seed(store, "s", history)
    reads = await time_get_items(store, "s")
    runner = Runner(store, settings=load_settings())
    bare_session = SQLiteSession("bare")  # the SDK's own in-memory session
    await bare_session.add_items(items)  # type: ignore[arg-type]
    del items
    config = RunConfig(tracing_disabled=True)
    sides = {
        "bare": lambda r: SDKRunner.run(agent, f"one more question {r}", session=bare_session, run_config=config),
        "kernel": lambda r: runner.run(agent, "s", f"one more question {r}"),
    }
    times: dict[str, list[float]] = {"bare": [], "kernel": []}
    watches = {"bare": GCWatch(), "kernel": GCWatch()}
    # Each side runs its turns as a block, so it pays for the collections its own objects cause
    # (interleaved, a full collection lands on whichever turn crosses the threshold).
    for block in range(2):
        for side, run in sides.items():
            gc.collect()
            with watches[side]:
                for r in range(repeats):
                    started = time.process_time()
                    await run(block * repeats + r)
                    times[side].append((time.process_time() - started) * 1e3)
    result: dict[str, Any] = {
        "history": history,
        "get_items": reads,
        "bare": statistics.median(times["bare"]),
        "kernel": statistics.median(times["kernel"]),
        "kernel_p90": sorted(times["kernel"])[int(0.9 * (len(times["kernel"]) - 1))],
        "gc": {side: (watch.counts, max(watch.full_ms, default=0.0)) for side, watch in watches.items()},
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await runner.run(agent, "s", "profiled question")
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats("agentkernel", 25)
        result["profile"] = out.getvalue()
    await runner.aclose()
    return result


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", default="10,100,1000,10000")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile one turn at the largest history")
    args = parser.parse_args()
    sizes = [int(n) for n in args.history.split(",")]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"in-memory store; median of 2 x {args.repeats} turns per side, CPU ms of this process"
    )
    print(
        f"{'prior turns':>12}{'get_items':>10}{'bare SDK':>10}{'kernel':>10}{'p90':>8}{'overhead':>10}"
        "   collections gen0/1/2 (max full ms): bare | kernel"
    )
    profiles = []
    for n in sizes:
        row = await measure(n, args.repeats, args.profile and n == sizes[-1])
        gcs = " | ".join(f"{'/'.join(map(str, counts))} ({full:.0f})" for counts, full in row["gc"].values())
        print(
            f"{n:>12}{row['get_items']:>10.2f}{row['bare']:>10.2f}{row['kernel']:>10.2f}{row['kernel_p90']:>8.2f}"
            f"{row['kernel'] - row['bare']:>10.2f}   {gcs}"
        )
        if "profile" in row:
            profiles.append(row["profile"])
    for text in profiles:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
