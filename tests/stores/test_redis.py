"""The Redis store against a real redis-server: the contract suite, the key layout and corrupt records."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.crc import key_slot

from agentkernel import Runner
from agentkernel._records import encode_turn, pending_change
from agentkernel.errors import ConfigError, CorruptSession, MissingDependency, SessionConflict
from agentkernel.session import DEFAULT_USER, Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores import SessionStore, open_store
from agentkernel.stores.redis import RedisStore
from agentkernel.testing import ScriptedAgent, StoreContract, StoreMaker, sample_turn
from agentkernel.testing.redis_server import RedisServer


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _flush(server: RedisServer) -> None:
    server.flushall()


@pytest.fixture
async def stores(server: RedisServer) -> AsyncIterator[list[RedisStore]]:
    made: list[RedisStore] = []
    yield made
    for store in made:
        await store.aclose()


@pytest.fixture
def store_maker(server: RedisServer, stores: list[RedisStore]) -> StoreMaker:
    def make(ttl: float = 0, **options: object) -> RedisStore:
        store = RedisStore.from_url(server.url, ttl=ttl, **options)  # type: ignore[arg-type]
        stores.append(store)
        return store

    return make


@pytest.fixture
def store(store_maker: StoreMaker) -> RedisStore:
    made = store_maker()
    assert isinstance(made, RedisStore)
    return made


class TestRedisStore(StoreContract):
    @pytest.fixture
    def make_store(self, store_maker: StoreMaker) -> StoreMaker:
        return store_maker

    async def corrupt_record(self, store: SessionStore, user_id: str, session_id: str, raw: str) -> None:
        assert isinstance(store, RedisStore)
        await store.client.hset(store.keys(user_id, session_id).meta, "record", raw)


async def _save(store: RedisStore, session: Session) -> Session:
    return await Sessions(store).save(session)


async def _full_session(store: RedisStore, sid: str = "s1", *, user: str = "alice", turns: int = 3) -> Session:
    session = Session(sid, user_id=user)
    session.set("city", "Lisbon")
    session.namespace("langgraph")["checkpoint"] = {"step": 1}
    for i in range(turns):
        session.append_turn(sample_turn(f"t{i}"))
    return await _save(store, session)


async def _all_keys(store: RedisStore) -> list[str]:
    return sorted(key.decode() for key in await store.client.keys("*"))


async def _contents(store: RedisStore, key: str) -> object:
    kind = (await store.client.type(key)).decode()
    if kind == "hash":
        return await store.client.hgetall(key)
    if kind == "list":
        return await store.client.lrange(key, 0, -1)
    return sorted(await store.client.smembers(key))


# ------------------------------------------------------------------ key layout
async def test_every_key_of_a_session_shares_its_hash_tag_and_carries_the_ttl(store_maker: StoreMaker) -> None:
    store = store_maker(ttl=60)
    assert isinstance(store, RedisStore)
    await _full_session(store, "s1")
    await _full_session(store, "s2")
    keys = await _all_keys(store)
    s1 = [key for key in keys if key.startswith("ak:{alice}/s1/")]
    parts = ("meta", "ns:langgraph", "ns:shared", "nsindex", "turns")
    assert sorted(s1) == [f"ak:{{alice}}/s1/{part}" for part in parts]
    # one slot for all of alice's keys, her listing index included, so a commit updates it too
    assert len({key_slot(key.encode()) for key in keys}) == 1
    assert key_slot(b"ak:{alice}/s1/meta") != key_slot(b"ak:{bob}/s1/meta")
    for key in keys:  # the session keys of both, and alice's listing index
        ttl = await store.client.pttl(key)
        assert 0 < ttl <= 60_000, key
    assert "ak:{alice}:sessions" in keys


async def test_a_commit_without_ttl_makes_every_key_persistent_again(store_maker: StoreMaker) -> None:
    expiring = store_maker(ttl=60)
    assert isinstance(expiring, RedisStore)
    session = await _full_session(expiring)
    lasting = store_maker(ttl=0)
    assert isinstance(lasting, RedisStore)
    session.set("more", 1)
    await _save(lasting, session)
    for key in await _all_keys(lasting):
        assert await lasting.client.pttl(key) == -1, key


async def test_delete_leaves_no_key_behind(store: RedisStore) -> None:
    await _full_session(store, "gone")
    assert await _all_keys(store)
    assert await store.delete("alice", "gone") is True
    assert await _all_keys(store) == []


async def test_the_prefix_is_applied_to_every_key(store_maker: StoreMaker) -> None:
    store = store_maker(prefix="app1:")
    assert isinstance(store, RedisStore)
    await _full_session(store)
    assert all(key.startswith("app1:") for key in await _all_keys(store))
    assert await store_maker(prefix="app2:").load("alice", "s1") is None


async def test_appending_does_not_rewrite_earlier_turns(store: RedisStore) -> None:
    await _full_session(store, turns=3)
    marker = encode_turn(sample_turn("written by hand").model_copy(update={"index": 0}))
    await store.client.lset(store.keys("alice", "s1").turns, 0, marker)  # a rewrite would put t0 back

    loaded = await Sessions(store).find("s1", user_id="alice", last_turns=1)
    assert loaded is not None
    assert [t.prompt for t in loaded.turns] == ["t2"]
    loaded.append_turn(sample_turn("t3"))
    await _save(store, loaded)

    raw = await store.client.lrange(store.keys("alice", "s1").turns, 0, -1)
    assert raw[0] == marker.encode()
    final = await Sessions(store).find("s1", user_id="alice")
    assert final is not None
    assert [t.prompt for t in final.turns] == ["written by hand", "t1", "t2", "t3"]


async def test_a_commit_applied_twice_by_a_retried_call_is_applied_once(store: RedisStore) -> None:
    session = await _full_session(store, turns=1)
    session.append_turn(sample_turn("once"))
    change = pending_change(session)
    keys = store.keys("alice", "s1")
    args = store._commit_args(keys, change)
    replies = [await store._commit(keys=keys.script_keys, args=args) for _ in range(2)]  # as a retried call does
    assert replies == [[b"ok"], [b"ok"]]
    loaded = await Sessions(store).find("s1", user_id="alice")
    assert loaded is not None
    assert loaded.version == 2
    assert [t.prompt for t in loaded.turns] == ["t0", "once"]


async def test_conflict_names_the_stored_version(store: RedisStore) -> None:
    await _full_session(store)
    stale = Session("s1", user_id="alice")
    with pytest.raises(SessionConflict) as caught:
        await _save(store, stale)
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    assert await store.client.llen(store.keys("alice", "s1").turns) == 3


# ------------------------------------------------------------------ corruption
async def test_a_corrupt_turn_is_reported_for_that_session_only(store: RedisStore) -> None:
    await _full_session(store, "bad")
    await _full_session(store, "good")
    await store.client.lset(store.keys("alice", "bad").turns, 1, "{not json")
    loaded = await Sessions(store).find("bad", user_id="alice")  # records are decoded when read
    assert loaded is not None
    with pytest.raises(CorruptSession) as caught:
        loaded.turns  # noqa: B018
    assert caught.value.session_id == "bad"
    recent = await Sessions(store).find("bad", user_id="alice", last_turns=1)  # the readable turns are still reachable
    assert recent is not None
    assert [t.prompt for t in recent.turns] == ["t2"]
    good = await Sessions(store).find("good", user_id="alice")
    assert good is not None
    assert good.turn_count == 3


async def test_a_key_of_the_wrong_type_is_corrupt_not_an_outage(store: RedisStore) -> None:
    await _full_session(store, "bad")
    await _full_session(store, "good")
    await store.client.delete(store.keys("alice", "bad").meta)
    await store.client.set(store.keys("alice", "bad").meta, "a string, not a hash")
    with pytest.raises(CorruptSession):
        await Sessions(store).find("bad", user_id="alice")
    with pytest.raises(CorruptSession):
        await _save(store, Session("bad", user_id="alice"))
    assert [m.id for m in (await store.list_sessions("alice")).sessions] == ["good"]
    assert await store.delete("alice", "bad") is True
    assert await Sessions(store).find("bad", user_id="alice") is None


async def test_a_commit_meeting_a_bad_key_writes_nothing(store: RedisStore) -> None:
    session = await _full_session(store, turns=2)
    keys = store.keys("alice", "s1")
    await store.client.set(keys.namespace("crewai"), "not a hash")  # a stray key the session does not list
    session.set("city", "Porto")
    session.namespace("langgraph")["checkpoint"] = {"step": 2}
    session.namespace("crewai")["memory"] = [1]  # the key that cannot take it comes last
    session.append_turn(sample_turn("t2"))
    with pytest.raises(CorruptSession, match="ns:crewai holds a string"):
        await _save(store, session)
    assert await store.client.llen(keys.turns) == 2
    assert await store.client.hget(keys.meta, "version") == b"1"
    assert b"Lisbon" in await store.client.hget(keys.namespace("shared"), "city")
    assert b'"step":1' in await store.client.hget(keys.namespace("langgraph"), "checkpoint")


async def test_a_lost_transcript_is_corrupt_and_never_replaced(store: RedisStore) -> None:
    session = await _full_session(store, turns=5)
    await store.client.delete(store.keys("alice", "s1").turns)  # e.g. evicted under memory pressure
    with pytest.raises(CorruptSession, match="holds 0 turns but the header counts 5"):
        await Sessions(store).find("s1", user_id="alice")
    session.append_turn(sample_turn("would start a new history"))
    with pytest.raises(CorruptSession):
        await _save(store, session)
    assert await store.client.exists(store.keys("alice", "s1").turns) == 0
    assert await store.client.hget(store.keys("alice", "s1").meta, "version") == b"1"


@pytest.mark.parametrize(
    ("lost", "found"),
    [
        ("meta", r"its header \(ak:\{alice\}/s1/meta\) is missing but its transcript .* and its namespace index"),
        ("nsindex", r"namespace index \(ak:\{alice\}/s1/nsindex\) lists 0 namespaces but the header counts 2"),
        ("ns:langgraph", r"the hash of namespace langgraph \(ak:\{alice\}/s1/ns:langgraph\) is missing"),
    ],
)
async def test_a_session_that_lost_a_key_is_corrupt_naming_it_and_never_overwritten(
    store: RedisStore, lost: str, found: str
) -> None:
    await _full_session(store, turns=2)
    keys = store.keys("alice", "s1")
    await store.client.delete(keys.base + lost)  # evicted, or an operator's DEL
    survivors = {key: await _contents(store, key) for key in await _all_keys(store) if "{alice}/s1/" in key}

    with pytest.raises(CorruptSession, match=found) as caught:
        await Sessions(store).find("s1", user_id="alice")
    assert caught.value.session_id == "s1"
    again = Session("s1", user_id="alice")  # what a run does when it finds no session: create it
    again.set("city", "Porto")
    again.append_turn(sample_turn("a new history"))
    with pytest.raises(CorruptSession, match=found):
        await _save(store, again)
    runner = Runner(store, settings=load_settings())
    with pytest.raises(CorruptSession):
        await runner.run(ScriptedAgent(), "s1", "hi", user_id="alice")
    after = {key: await _contents(store, key) for key in await _all_keys(store) if "{alice}/s1/" in key}
    assert after == survivors, "what was left of the session was changed"

    assert await store.delete("alice", "s1") is True  # as the error advises: delete works on what is left
    assert [key for key in await _all_keys(store) if "{alice}/s1/" in key] == []
    assert await Sessions(store).find("s1", user_id="alice") is None


async def test_a_namespace_hash_that_outlived_its_session_never_merges_into_a_new_one(store: RedisStore) -> None:
    await _full_session(store, turns=1)
    keys = store.keys("alice", "s1")
    await store.client.delete(keys.meta, keys.turns, keys.nsindex)  # only ns:langgraph and ns:shared remain
    assert await Sessions(store).find("s1", user_id="alice") is None  # nothing says a session was here
    fresh = Session("s1", user_id="alice")
    fresh.namespace("langgraph")["other"] = 1
    await _save(store, fresh)
    loaded = await Sessions(store).find("s1", user_id="alice")
    assert loaded is not None
    assert dict(loaded.namespace("langgraph")) == {"other": 1} and loaded.get("city") is None
    loaded.set("city", "Porto")  # a namespace added later does not pick up the stray hash either
    await _save(store, loaded)
    again = await Sessions(store).find("s1", user_id="alice")
    assert again is not None and dict(again.namespace("shared")) == {"city": "Porto"}


async def test_a_commit_to_a_session_that_lost_a_namespace_hash_writes_nothing(store: RedisStore) -> None:
    session = await _full_session(store, turns=1)
    keys = store.keys("alice", "s1")
    await store.client.delete(keys.namespace("langgraph"))
    session.set("city", "Porto")
    session.append_turn(sample_turn("t1"))
    with pytest.raises(CorruptSession, match="namespace langgraph"):
        await _save(store, session)
    assert await store.client.llen(keys.turns) == 1
    assert await store.client.hget(keys.meta, "version") == b"1"


# --------------------------------------------------------------------- listing
async def test_listing_drops_entries_of_sessions_that_are_gone(store: RedisStore) -> None:
    for sid in ("a", "b", "c"):
        await _full_session(store, sid)
    index = "ak:{alice}:sessions"
    gone = store.keys("alice", "b")
    await store.client.delete(gone.meta, gone.turns, gone.nsindex)  # gone without the index knowing (an eviction)
    await store.client.zadd(index, {"d": 1.0})  # an entry whose session never existed
    page = await store.list_sessions("alice")
    assert [m.id for m in page.sessions] == ["c", "a"]
    assert sorted(await store.client.zrange(index, 0, -1)) == [b"a", b"c"]


async def test_listing_never_shows_a_session_whose_owner_changed(store: RedisStore) -> None:
    await _full_session(store, "shared-id", user="alice")
    await store.delete("alice", "shared-id")
    await _full_session(store, "shared-id", user="bob")
    await store.client.zadd("ak:{alice}:sessions", {"shared-id": 1.0})  # a stale entry left behind
    assert (await store.list_sessions("alice")).sessions == []
    assert [m.id for m in (await store.list_sessions("bob")).sessions] == ["shared-id"]


async def test_listing_pages_through_equal_timestamps(store: RedisStore) -> None:
    for sid in ("a", "b", "c", "d"):
        session = Session(sid, user_id="alice")
        change = pending_change(session, now=1000.0)
        await store.commit(change)
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list_sessions("alice", limit=1, cursor=cursor)
        seen.extend(m.id for m in page.sessions)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["d", "c", "b", "a"]


# --------------------------------------------------------------------- options
def test_settings_select_and_configure_the_redis_store(server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AK_SESSION__TYPE", "redis")
    monkeypatch.setenv("AK_SESSION__TTL", "30")
    monkeypatch.setenv("AK_SESSION__REDIS__URL", server.url)
    monkeypatch.setenv("AK_SESSION__REDIS__PREFIX", "env:")
    monkeypatch.setenv("AK_SESSION__REDIS__SOCKET_TIMEOUT", "1.5")
    store = open_store(load_settings().session)
    assert isinstance(store, RedisStore)
    assert (store._prefix, store._ttl) == ("env:", 30)
    assert store.client.connection_pool.connection_kwargs["socket_timeout"] == 1.5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AK_SESSION__REDIS__URLL", "redis://x", "AK_SESSION__REDIS__URLL"),
        ("AK_SESSION__REDIS__URL", "http://localhost", "redis://, rediss:// or unix://"),
        ("AK_SESSION__REDIS__PREFIX", "a{b}", "hash tags"),
        ("AK_SESSION__REDIS__MAX_CONNECTIONS", "0", "AK_SESSION__REDIS__MAX_CONNECTIONS"),
    ],
)
def test_bad_options_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv("AK_SESSION__TYPE", "redis")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("{", r"\{")):
        open_store(load_settings().session)


def test_rediss_urls_are_accepted() -> None:
    store = RedisStore.from_url("rediss://user:secret@localhost:6380/1")
    assert store.client.connection_pool.connection_class.__name__ == "SSLConnection"
    assert "secret" not in repr(store)
    assert "***" in repr(store)


def test_a_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # makes `import redis.asyncio` fail
    with pytest.raises(MissingDependency) as caught:
        RedisStore.from_url("redis://localhost:6379/0")
    assert str(caught.value) == "the Redis session store requires the 'redis' extra: pip install 'agentkernel[redis]'"


async def test_only_a_store_made_from_a_url_closes_its_client(server: RedisServer) -> None:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(server.url)
    async with RedisStore(client) as borrowed:
        await _save(borrowed, Session("x"))
    assert await client.ping() is True  # still the caller's, still usable
    await client.aclose()

    owned = RedisStore.from_url(server.url)
    closed: list[bool] = []
    real_close = owned.client.aclose

    async def spy() -> None:
        closed.append(True)
        await real_close()

    owned.client.aclose = spy  # type: ignore[method-assign]
    async with owned:
        assert await owned.load(DEFAULT_USER, "x") is not None
    assert closed == [True]


async def test_the_listing_index_lives_as_long_as_its_longest_lived_session(server: RedisServer) -> None:
    forever = RedisStore.from_url(server.url, ttl=0)
    short = RedisStore.from_url(server.url, ttl=5)
    long = RedisStore.from_url(server.url, ttl=50)
    index = "ak:{alice}:sessions"
    try:
        runners = {name: Runner(store, settings=load_settings()) for name, store in
                   {"forever": forever, "short": short, "long": long}.items()}
        agent = ScriptedAgent()
        await runners["long"].run(agent, "s-long", "hi", user_id="alice")
        assert 40_000 < await forever.client.pttl(index) <= 50_000
        await runners["short"].run(agent, "s-short", "hi", user_id="alice")
        assert await forever.client.pttl(index) > 40_000, "a shorter TTL shortened the index"
        await runners["forever"].run(agent, "s-forever", "hi", user_id="alice")
        await runners["short"].run(agent, "s-short-2", "hi", user_id="alice")
        assert await forever.client.pttl(index) == -1, "a TTL commit made the index of a never-expiring session expire"
        listed = {m.id for m in (await Sessions(forever).list(user_id="alice")).sessions}
        assert listed == {"s-long", "s-short", "s-forever", "s-short-2"}
    finally:
        for store in (forever, short, long):
            await store.aclose()
