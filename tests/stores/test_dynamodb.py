"""The DynamoDB store against moto in server mode: real HTTP, real boto3, real transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from agentkernel.session import Session
from agentkernel.stores.base import SessionStore
from agentkernel.stores.dynamodb import DynamoDBOptions, DynamoDBStore, setup
from agentkernel.stores.dynamodb_items import META_SK
from agentkernel.testing import StoreContract, StoreMaker
from agentkernel.testing.moto_server import MotoServer


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials, and no profile or config file of the developer's."""
    nowhere = tmp_path_factory.mktemp("aws") / "none"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(nowhere),
        "AWS_SHARED_CREDENTIALS_FILE": str(nowhere),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def endpoint(moto_server: MotoServer, aws_env: None) -> str:
    """An empty moto with the store's table made by ``setup``."""
    moto_server.reset()
    assert setup(DynamoDBOptions(endpoint_url=moto_server.endpoint_url)) is True
    return moto_server.endpoint_url


@pytest.fixture
async def make_dynamodb(endpoint: str) -> AsyncIterator[Callable[..., DynamoDBStore]]:
    made: list[DynamoDBStore] = []

    def make(ttl: float = 0, **kwargs: object) -> DynamoDBStore:
        store = DynamoDBStore(endpoint_url=endpoint, ttl=ttl, **kwargs)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


def put_meta_record(store: DynamoDBStore, session_id: str, raw: str) -> None:
    store.client.update_item(
        TableName=store.table_name,
        Key={"pk": {"S": session_id}, "sk": {"S": META_SK}},
        UpdateExpression="SET rec = :r",
        ExpressionAttributeValues={":r": {"S": raw}},
    )


class TestDynamoDBStore(StoreContract):
    @pytest.fixture
    def make_store(self, make_dynamodb: Callable[..., DynamoDBStore]) -> StoreMaker:
        return make_dynamodb

    async def corrupt_record(self, store: SessionStore, session_id: str, raw: str) -> None:
        assert isinstance(store, DynamoDBStore)
        put_meta_record(store, session_id, raw)


async def save(store: SessionStore, session: Session) -> Session:
    change = session.change()
    await store.commit(change)
    session.mark_committed(change)
    return session
