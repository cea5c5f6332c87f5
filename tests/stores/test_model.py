"""The model-based store and runner test (agentkernel.testing.ModelContract) on every store.

CI runs a bounded number of examples; ``AK_MODEL_EXAMPLES=2000`` (and ``AK_MODEL_STEPS``) asks
for a long exploration.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from agentkernel.stores import InMemoryStore
from agentkernel.stores.base import SessionStore
from agentkernel.testing.fault_proxy import FaultProxy
from agentkernel.testing.model_contract import Fault, ModelContract

if TYPE_CHECKING:
    from agentkernel.testing.redis_server import RedisServer

EXAMPLES = int(os.environ.get("AK_MODEL_EXAMPLES", "0"))
STEPS = int(os.environ.get("AK_MODEL_STEPS", "0"))


def bounded(examples: int, steps: int) -> tuple[int, int]:
    return (EXAMPLES or examples, STEPS or steps)


class ThroughProxy:
    """The fault hooks of a store reached through a :class:`FaultProxy` (``self.proxy``)."""

    proxy: FaultProxy

    def inject(self, fault: Fault) -> None:
        self.proxy.fail_next(fault)

    def chaos(self, rate: float, seed: int) -> None:
        self.proxy.chaos(rate, ("drop_request", "drop_reply", "delay", "reset"), seed=seed)

    def calm(self) -> None:
        self.proxy.calm()

    def drop_connections(self) -> None:
        self.proxy.drop_connections()


class TestModelInMemory(ModelContract):
    CLOCK = True
    EXAMPLES, STEPS = bounded(100, 40)

    def make_store(self, *, ttl: float = 0, clock: Callable[[], float] | None = None) -> SessionStore:
        return InMemoryStore(ttl=ttl, clock=clock or time.time)


# ------------------------------------------------------------------ Redis, through the proxy
@pytest.fixture(scope="module")
def model_redis() -> Iterator[tuple[RedisServer, FaultProxy]]:
    from agentkernel.testing.redis_server import RedisServer

    with RedisServer() as server, FaultProxy(server.port, delay=0.05) as proxy:
        yield server, proxy


class TestModelRedis(ThroughProxy, ModelContract):
    """Standalone Redis behind the fault proxy, with server restarts. No TTL rules: Redis expires
    keys by its own clock, which a test cannot move (a real TTL would need real sleeps)."""

    FAULTS = True
    RESTARTS = True
    EXAMPLES, STEPS = bounded(10, 25)

    @pytest.fixture(autouse=True)
    def _servers(self, model_redis: tuple[RedisServer, FaultProxy]) -> None:
        self.server, self.proxy = model_redis

    def make_store(self, *, ttl: float = 0, clock: Callable[[], float] | None = None) -> SessionStore:
        from agentkernel.stores.redis import RedisStore

        url = f"redis://{self.proxy.url_host_port}/0"
        return RedisStore.from_url(url, ttl=ttl, retries=3, socket_timeout=2.0, socket_connect_timeout=2.0)


    def stop_server(self) -> None:
        self.server.stop()

    def start_server(self) -> None:
        self.server.start()


# --------------------------------------------------------------- DynamoDB (moto server mode)
@pytest.fixture(scope="module")
def model_moto() -> Iterator[tuple[str, FaultProxy]]:
    from agentkernel.stores.dynamodb import DynamoDBOptions, setup
    from agentkernel.testing.moto_server import MotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        with MotoServer() as moto, FaultProxy(int(moto.endpoint_url.rsplit(":", 1)[1]), delay=0.05) as proxy:
            setup(DynamoDBOptions(endpoint_url=moto.endpoint_url, table_name=TABLE))
            yield moto.endpoint_url, proxy


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
TABLE = "agentkernel-model"


class TestModelDynamoDB(ModelContract):
    """moto in server mode, with the store's clock driven by the model (TTL rules on)."""

    CLOCK = True
    CLOCK_AT_COMMIT = True
    EXAMPLES, STEPS = bounded(6, 20)

    @pytest.fixture(autouse=True)
    def _servers(self, model_moto: tuple[str, FaultProxy], aws_env: None) -> None:
        self.endpoint, self.proxy = model_moto

    def make_store(self, *, ttl: float = 0, clock: Callable[[], float] | None = None) -> SessionStore:
        from agentkernel.stores.dynamodb import DynamoDBStore

        return DynamoDBStore(endpoint_url=self.endpoint, table_name=TABLE, ttl=ttl, clock=clock or time.time)


class TestModelDynamoDBFaults(ThroughProxy, TestModelDynamoDB):
    """moto behind the fault proxy. The real clock runs (a lease whose release was lost must
    expire), so no TTL rules here; moto cannot be restarted with its data, so no restarts."""

    CLOCK = False
    FAULTS = True
    EXAMPLES, STEPS = bounded(5, 20)

    def make_store(self, *, ttl: float = 0, clock: Callable[[], float] | None = None) -> SessionStore:
        from agentkernel.stores.dynamodb import DynamoDBStore

        return DynamoDBStore(endpoint_url=f"http://{self.proxy.url_host_port}", table_name=TABLE, ttl=ttl)

