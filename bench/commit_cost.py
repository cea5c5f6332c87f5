"""Does appending a turn cost the same at turn 10 and at turn 10,000?

For each store, fill sessions with 10, 100, 1,000 and 10,000 turns, then time the runner's commit
path for one more turn (load the header without turns, append, version-checked commit), and the
load of the last 20 turns. Prints medians and the ratios the design targets (<= 1.5).

Run:
    .venv/bin/python bench/commit_cost.py                 # every store available here
    .venv/bin/python bench/commit_cost.py --stores memory
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from agentkernel import InMemoryStore, Session, SessionStore
from agentkernel._records import mark_committed, pending_change
from agentkernel.sessions import Sessions
from agentkernel.transcript import Message, Turn

HISTORY = (10, 100, 1_000, 10_000)
WIRE = {"requests": 0, "bytes": 0}
"""Requests and request bytes sent to DynamoDB: what the store does, whatever the server's speed."""
FILL_BATCH = 50  # DynamoDB takes at most 100 items per transaction


def make_turn(i: int) -> Turn:
    return Turn(
        agent="bench",
        framework="scripted",
        input=[Message(role="user", content=f"question number {i} about the weather in Lisbon")],
        output=f"answer number {i}: sunny, 24 degrees, light wind from the north-west",
    )


async def fill(store: SessionStore, session_id: str, turns: int) -> None:
    session = Session(session_id)
    session.namespace("scripted")["memory"] = {"facts": ["x" * 100] * 10}
    for i in range(turns):
        session.append_turn(make_turn(i))
        if (i + 1) % FILL_BATCH == 0 or i + 1 == turns:
            change = pending_change(session)
            await store.commit(change)
            mark_committed(session, change)


async def commit_one(store: SessionStore, session_id: str, i: int) -> float:
    started = time.perf_counter()
    session = await Sessions(store).find(session_id, last_turns=0)
    if session is None:
        raise RuntimeError(f"session {session_id} vanished")
    session.append_turn(make_turn(i))
    change = pending_change(session)
    await store.commit(change)
    return time.perf_counter() - started


async def load_last(store: SessionStore, session_id: str, n: int) -> float:
    started = time.perf_counter()
    session = await Sessions(store).find(session_id, last_turns=n)
    if session is None or len(session.turns) != min(n, session.turn_count):
        raise RuntimeError("wrong load")
    return time.perf_counter() - started


async def measure(store: SessionStore, label: str, repeats: int) -> dict[str, float]:
    results: dict[str, float] = {}
    for n in HISTORY:
        sid = f"bench-{label}-{n}"
        await fill(store, sid, n)
        # moto serves DynamoDB from this very process: keep the collector from walking its items.
        gc.collect()
        gc.freeze()
        sent = dict(WIRE)
        times = [await commit_one(store, sid, n + r) for r in range(repeats)]
        results[f"commit@{n}"] = statistics.median(times)
        results[f"requests@{n}"] = (WIRE["requests"] - sent["requests"]) / repeats
        results[f"bytes@{n}"] = (WIRE["bytes"] - sent["bytes"]) / repeats
    await fill(store, f"bench-{label}-small", 20)
    results["load20@20"] = statistics.median(
        [await load_last(store, f"bench-{label}-small", 20) for _ in range(repeats)]
    )
    results["load20@10000"] = statistics.median(
        [await load_last(store, f"bench-{label}-{HISTORY[-1]}", 20) for _ in range(repeats)]
    )
    return results


@contextlib.asynccontextmanager
async def memory_store() -> AsyncIterator[SessionStore]:
    yield InMemoryStore()


@contextlib.asynccontextmanager
async def redis_store() -> AsyncIterator[SessionStore]:
    from agentkernel.stores.redis import RedisStore
    from agentkernel.testing.redis_server import RedisServer

    with RedisServer() as server:
        store = RedisStore.from_url(server.url)
        try:
            yield store
        finally:
            await store.aclose()


@contextlib.asynccontextmanager
async def dynamodb_store() -> AsyncIterator[SessionStore]:
    from agentkernel.stores.dynamodb import DynamoDBOptions, DynamoDBStore
    from agentkernel.testing.moto_server import MotoServer

    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    with MotoServer() as server:
        store = DynamoDBStore.from_options(DynamoDBOptions(endpoint_url=server.endpoint_url), ttl=0)
        await store.setup()

        def count(request: object, **_: object) -> None:
            body = getattr(request, "body", b"") or b""
            WIRE["requests"] += 1
            WIRE["bytes"] += len(body)

        store.client.meta.events.register("before-send.dynamodb", count)
        try:
            yield store
        finally:
            await store.aclose()


STORES: dict[str, Callable[[], AbstractAsyncContextManager[SessionStore]]] = {
    "memory": memory_store,
    "redis": redis_store,
    "dynamodb": dynamodb_store,
}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", default="memory,redis,dynamodb", help="comma-separated: memory,redis,dynamodb")
    parser.add_argument("--repeats", type=int, default=30, help="timed commits per history length")
    args = parser.parse_args()
    worst = 0.0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of {args.repeats} runs")
    header = (
        f"{'store':<9}"
        + "".join(f"{'commit@' + str(n):>14}" for n in HISTORY)
        + f"{'ratio':>8}{'load20@20':>12}{'load20@10k':>12}{'ratio':>8}"
    )
    print(header)
    for name in args.stores.split(","):
        try:
            async with STORES[name]() as store:
                r = await measure(store, name, args.repeats)
        except ImportError as exc:
            print(f"{name:<9}skipped: {exc}")
            continue
        commit_ratio = r[f"commit@{HISTORY[-1]}"] / r[f"commit@{HISTORY[0]}"]
        load_ratio = r["load20@10000"] / r["load20@20"]
        worst = max(worst, commit_ratio, load_ratio)
        cells = "".join(f"{r[f'commit@{n}'] * 1e3:>12.3f}ms" for n in HISTORY)
        print(
            f"{name:<9}{cells}{commit_ratio:>8.2f}{r['load20@20'] * 1e3:>10.3f}ms"
            f"{r['load20@10000'] * 1e3:>10.3f}ms{load_ratio:>8.2f}"
        )
        if r[f"requests@{HISTORY[-1]}"]:
            wire = "".join(f"{r[f'requests@{n}']:>6.1f}req {r[f'bytes@{n}']:>6.0f}B" for n in HISTORY)
            print(
                f"{'  wire':<9}{wire}  (per commit; ratio of bytes "
                f"{r[f'bytes@{HISTORY[-1]}'] / r[f'bytes@{HISTORY[0]}']:.2f})"
            )
    print(f"worst ratio {worst:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
