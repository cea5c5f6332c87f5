from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: the newest-crewai environment has no Redis driver
    from agentkernel.stores.redis import RedisStore
    from agentkernel.testing.redis_server import RedisServer


@pytest.fixture(autouse=True)
def _no_real_network(no_network: list[str]) -> Iterator[None]:
    """Every test fails if it reaches past loopback (a model provider, say)."""
    yield
    assert not no_network, f"test reached for the network: {no_network}"


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No AK_ variable or .env file of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("AK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[RedisServer]:
    """One real redis-server for the adapter and front-end suites that also run on Redis."""
    from agentkernel.testing.redis_server import RedisServer

    with RedisServer() as server:
        yield server


@pytest.fixture
async def redis_store(shared_redis: RedisServer) -> AsyncIterator[RedisStore]:
    """An empty Redis store on the shared server."""
    from agentkernel.stores.redis import RedisStore

    shared_redis.flushall()
    store = RedisStore.from_url(shared_redis.url)
    yield store
    await store.aclose()
