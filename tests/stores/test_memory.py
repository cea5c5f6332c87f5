from __future__ import annotations

import asyncio

import pytest

from agentkernel.session import DEFAULT_USER, Session
from agentkernel.sessions import Sessions
from agentkernel.stores import InMemoryStore, SessionStore
from agentkernel.testing import StoreContract, StoreMaker


class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> StoreMaker:
        return lambda ttl=0: InMemoryStore(ttl=ttl)

    async def corrupt_record(self, store: SessionStore, user_id: str, session_id: str, raw: str) -> None:
        assert isinstance(store, InMemoryStore)
        store._corrupt(user_id, session_id, raw)


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


async def test_the_lru_cap_never_evicts_a_session_a_run_holds() -> None:
    from agentkernel import Runner
    from agentkernel.settings import load_settings
    from agentkernel.testing import ScriptedAgent

    store = InMemoryStore(max_sessions=2)
    runner = Runner(store, settings=load_settings())
    await runner.run(ScriptedAgent(), "held", "first")
    started = asyncio.Event()

    async def slow(context: object) -> str:
        started.set()
        await asyncio.sleep(0.3)
        return "second answer"

    run = asyncio.create_task(runner.run(ScriptedAgent("slow", replies=[slow]), "held", "second"))
    await started.wait()
    for i in range(5):  # other sessions push "held" out of the LRU order while its run is in flight
        await runner.run(ScriptedAgent(), f"other-{i}", "hi")
    assert not await store.acquire_lease(DEFAULT_USER, "held", "intruder", 1.0), "the run's lease was evicted"
    turn = await run
    assert turn.output == "second answer"
    kept = await Sessions(store).find("held")
    assert kept is not None and kept.turn_count == 2
