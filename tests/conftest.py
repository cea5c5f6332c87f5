from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
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


@pytest.fixture(scope="module")
def crewai_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway home and data dir for CrewAI, which writes into both; crewai is imported under it."""
    from agentkernel_crewai import CREWAI_DEFAULTS, environment, quiet_crewai

    home = tmp_path_factory.mktemp("crewai-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_DATA_HOME", str(home / "data"))
        for name in CREWAI_DEFAULTS:
            patch.delenv(name, raising=False)
        patch.setattr(environment, "_done", False)
        quiet_crewai()
        import crewai  # noqa: F401 - first imported here, under the throwaway home

        yield home
