from __future__ import annotations

import pytest

from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.stores import InMemoryStore, SessionStore
from agentkernel.testing import StoreContract, StoreMaker


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> StoreMaker:
        return lambda ttl=0: InMemoryStore(ttl=ttl)

    async def corrupt_record(self, store: SessionStore, session_id: str, raw: str) -> None:
        assert isinstance(store, InMemoryStore)
        store._corrupt(session_id, raw)


async def _save(store: InMemoryStore, session: Session) -> None:
    await Sessions(store).save(session)


async def test_least_recently_used_session_is_evicted_at_the_cap() -> None:
    store = InMemoryStore(max_sessions=3)
    for sid in ("a", "b", "c"):
        await _save(store, Session(sid))
    assert await Sessions(store).find("a") is not None  # "a" is now the most recently used
    await _save(store, Session("d"))
    assert await Sessions(store).find("b") is None
    assert all([await Sessions(store).find(sid) for sid in ("a", "c", "d")])


async def test_loaded_sessions_do_not_alias_stored_records() -> None:
    store = InMemoryStore()
    session = Session("s")
    session.set("items", [1, 2])
    await _save(store, session)
    loaded = await Sessions(store).find("s")
    assert loaded is not None
    items = loaded.get("items")
    items.append(3)
    assert loaded.get("items") == [1, 2]
    assert (await Sessions(store).find("s")).get("items") == [1, 2]  # type: ignore[union-attr]


async def test_options_come_from_settings() -> None:
    from agentkernel.settings import load_settings
    from agentkernel.stores import open_store

    store = open_store(load_settings(session={"ttl": 5, "in_memory": {"max_sessions": 2}}).session)
    assert isinstance(store, InMemoryStore)
    assert store._max_sessions == 2 and store._ttl == 5
