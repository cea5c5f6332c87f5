"""Each store's options are declared once, in its options model, and every field reaches the store.

The public constructors (``RedisStore.from_url(url, ttl=..., ...)``, ``DynamoDBStore(table_name=...,
...)``) take the same fields by name and build through the options model, so a field added there is
honoured everywhere or these tests fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from agentkernel.stores.dynamodb import DynamoDBOptions, DynamoDBStore
from agentkernel.stores.redis import RedisOptions, RedisStore

pytest.importorskip("redis")
pytest.importorskip("boto3")

# A non-default value for every Redis option, and how to see it on the store that was built.
REDIS_FIELDS: dict[str, tuple[Any, Callable[[RedisStore], Any]]] = {
    "url": (SecretStr("rediss://cache.internal:6390/2"), lambda s: s.client.connection_pool.connection_kwargs["port"]),
    "password": (SecretStr("pw"), lambda s: s.client.connection_pool.connection_kwargs["password"]),
    "prefix": ("app1:", lambda s: s.keys("u", "x").base.split("{")[0]),
    "max_connections": (7, lambda s: s.client.connection_pool.max_connections),
    "socket_timeout": (1.5, lambda s: s.client.connection_pool.connection_kwargs["socket_timeout"]),
    "socket_connect_timeout": (0.7, lambda s: s.client.connection_pool.connection_kwargs["socket_connect_timeout"]),
    "retries": (3, lambda s: s.client.connection_pool.connection_kwargs["retry"]._retries),
    "health_check_interval": (9.0, lambda s: s.client.connection_pool.connection_kwargs["health_check_interval"]),
    "ssl_ca_certs": ("/etc/ca.pem", lambda s: s.client.connection_pool.connection_kwargs["ssl_ca_certs"]),
}
REDIS_EXPECTED = {"url": 6390, "password": "pw", "prefix": "app1:"}


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_redis_option_is_honoured_by_from_options_and_from_url() -> None:
    assert set(REDIS_FIELDS) == set(RedisOptions.model_fields), "a Redis option has no check here"
    options = RedisOptions(**{name: value for name, (value, _) in REDIS_FIELDS.items()})
    by_options = RedisStore.from_options(options, ttl=5)
    url = options.url.get_secret_value()
    by_url = RedisStore.from_url(
        url, ttl=5, **{name: _plain(value) for name, (value, _) in REDIS_FIELDS.items() if name != "url"}
    )
    for name, (value, seen) in REDIS_FIELDS.items():
        expected = REDIS_EXPECTED.get(name, value)
        assert seen(by_options) == expected, name
        assert seen(by_url) == expected, name
        assert RedisOptions.model_fields[name].default != value, f"{name}: pick a non-default value"


def test_redis_from_url_checks_options_as_settings_do() -> None:
    with pytest.raises(ValidationError, match="prefix"):
        RedisStore.from_url("redis://localhost:6379/0", prefix="{bad}")
    with pytest.raises(ValidationError, match="max_conections"):
        RedisStore.from_url("redis://localhost:6379/0", max_conections=5)  # misspelt


DYNAMODB_FIELDS: dict[str, tuple[Any, Callable[[DynamoDBStore], Any]]] = {
    "table_name": ("tbl-1", lambda s: s.table_name),
    "region": ("eu-west-1", lambda s: s.client.meta.region_name),
    "endpoint_url": ("http://127.0.0.1:9", lambda s: s.client.meta.endpoint_url),
    "chunk_size": (2048, lambda s: s._plan.chunk_size),
    "compress_over": (5, lambda s: s._plan.compress_over),
    "cleanup_slack": (7, lambda s: s._plan.slack),
    "connect_timeout": (1.5, lambda s: s.client.meta.config.connect_timeout),
    "read_timeout": (2.5, lambda s: s.client.meta.config.read_timeout),
    "max_attempts": (3, lambda s: s.client.meta.config.retries["total_max_attempts"] - 1),
    "max_pool_connections": (5, lambda s: (s.client.meta.config.max_pool_connections, s._executor._max_workers)),
}
DYNAMODB_EXPECTED = {"max_pool_connections": (5, 5)}


async def test_every_dynamodb_option_is_honoured_by_from_options_and_the_constructor(aws_env: None) -> None:
    assert set(DYNAMODB_FIELDS) == set(DynamoDBOptions.model_fields), "a DynamoDB option has no check here"
    fields = {name: value for name, (value, _) in DYNAMODB_FIELDS.items()}
    built = [DynamoDBStore.from_options(DynamoDBOptions(**fields), ttl=0), DynamoDBStore(**fields)]
    try:
        for store in built:
            assert store.options == DynamoDBOptions(**fields)
            for name, (value, seen) in DYNAMODB_FIELDS.items():
                assert seen(store) == DYNAMODB_EXPECTED.get(name, value), name
                assert DynamoDBOptions.model_fields[name].default != value, f"{name}: pick a non-default value"
    finally:
        for store in built:
            await store.aclose()


async def test_dynamodb_fields_override_an_options_object_and_are_checked(aws_env: None) -> None:
    store = DynamoDBStore(options=DynamoDBOptions(table_name="base", region="eu-west-1"), table_name="over")
    try:
        assert (store.table_name, store.options.region) == ("over", "eu-west-1")
    finally:
        await store.aclose()
    with pytest.raises(ValidationError, match="chunk_size"):
        DynamoDBStore(chunk_size=10)
