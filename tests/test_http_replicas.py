"""Two uvicorn workers against one real Redis: no answered turn lost or doubled, busy refusals counted."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import httpx
import pytest

pytest.importorskip("agentkernel.stores.redis")

from agentkernel.testing.redis_server import RedisServer
from tests.test_http_server import Served

AGENTS = """
import os
from agentkernel.testing import ScriptedAgent

def answer(context):
    return f"pid {os.getpid()} heard {context.prompt}"

agents = [ScriptedAgent("worker", replies=[answer], delay=0.01)]
"""

REQUESTS = 200
SESSIONS = 10
CONCURRENCY = 20


async def hammer(url: str) -> list[tuple[str, httpx.Response]]:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:

        async def one(i: int) -> tuple[str, httpx.Response]:
            session_id = f"replica-{i % SESSIONS}"
            async with limit:
                return session_id, await client.post("/run", json={"message": f"request {i}", "session_id": session_id})

        return await asyncio.gather(*(one(i) for i in range(REQUESTS)))


async def test_two_workers_share_sessions_through_redis(tmp_path: Path) -> None:
    module = tmp_path / "replica_agents.py"
    module.write_text(AGENTS)
    with RedisServer() as redis:
        env = {
            "AK_SESSION__TYPE": "redis",
            "AK_SESSION__REDIS__URL": redis.url,
            "AK_RUNNER__BUSY": "wait",
            "AK_RUNNER__BUSY_TIMEOUT": "0.05",  # short: some requests are refused as busy
        }
        with Served(module, tmp_path / "server.log", workers=2, **env) as server:
            results = await hammer(server.url)
            answered: dict[str, list[str]] = collections.defaultdict(list)
            refused = 0
            pids = set()
            for session_id, response in results:
                if response.status_code == 200:
                    body = response.json()
                    answered[session_id].append(body["turn_id"])
                    pids.add(body["output"].split()[1])
                else:
                    assert response.status_code == 409, response.text
                    assert response.json()["error"]["code"] == "session_busy"
                    assert int(response.headers["retry-after"]) >= 1
                    refused += 1
            assert sum(len(ids) for ids in answered.values()) + refused == REQUESTS
            assert answered, "no request was answered"
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                for i in range(SESSIONS):
                    session_id = f"replica-{i}"
                    detail = (await client.get(f"/sessions/{session_id}")).json()
                    stored = [turn["id"] for turn in detail.get("turns", [])]
                    assert sorted(stored) == sorted(answered[session_id]), session_id  # each exactly once
                    assert detail.get("turn_count", 0) == len(answered[session_id])
            print(f"answered {REQUESTS - refused}, refused as busy {refused}, worker pids {sorted(pids)}")
