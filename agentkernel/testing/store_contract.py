"""The store contract suite: every session store, ours or a third party's, passes it unchanged.

Subclass :class:`StoreContract` in a test module, provide a ``make_store`` fixture and say how to
damage a record of your backend::

    from agentkernel.stores import InMemoryStore
    from agentkernel.testing import StoreContract

    class TestInMemoryStore(StoreContract):
        @pytest.fixture
        def make_store(self):
            return lambda ttl=0: InMemoryStore(ttl=ttl)

        async def corrupt_record(self, store, user_id, session_id, raw):
            store._corrupt(user_id, session_id, raw)

The suite needs pytest-asyncio. Stores made by ``make_store`` must start empty; closing them is
the fixture's job.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from agentkernel._records import pending_change
from agentkernel.codec import SCHEMA_VERSION
from agentkernel.errors import CorruptSession, SessionConflict, SessionNotFound
from agentkernel.session import DEFAULT_USER, Session
from agentkernel.sessions import Sessions
from agentkernel.stores.base import SessionStore, StoredSession, SupportsSetup, supports_lease_info, supports_setup
from agentkernel.transcript import Message, Step, Turn, TurnError, Usage

__all__ = ["StoreContract", "StoreMaker", "sample_turn"]

StoreMaker = Callable[..., SessionStore]
"""``make_store(ttl=0)`` returns a new, empty store whose sessions expire after ``ttl`` seconds."""


def sample_turn(text: str = "hello", *, agent: str = "assistant") -> Turn:
    """A turn with every field set, for round-trip tests."""
    return Turn(
        agent=agent,
        framework="scripted",
        input=[Message(role="system", content="be brief"), Message(role="user", content=text)],
        output=f"answer to {text}",
        steps=[
            Step(
                kind="model_call",
                name="gpt-test",
                agent=agent,
                result="thinking",
                started_at=1.0,
                ended_at=2.0,
                usage=Usage(input_tokens=3, output_tokens=4, total_tokens=7, requests=1),
            ),
            Step(kind="tool_call", name="lookup", arguments={"q": text, "n": [1, 2.5, None]}, result={"hits": 2}),
            Step(kind="handoff", name="expert", agent=agent),
        ],
        started_at=1.0,
        ended_at=3.0,
        usage=Usage(input_tokens=3, output_tokens=4, total_tokens=7, requests=1),
        metadata={"trace": "t-1", "nested": {"ok": True}},
    )


_PREVIOUS_FORMAT_META = (
    '{"v": 1, "kind": "meta", "data": {"id": "$ID", "user_id": "erin", "created_at": 1.0, "updated_at": 1.0, '
    '"version": 1, "name": null, "tags": [], "turn_count": 0, "turn_bytes": 0}}'
)
"""A header as the format before lives wrote it: recognised as old, never misread."""


def _text(raw: str | bytes) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _sid() -> str:
    return "contract-" + uuid.uuid4().hex[:12]


async def _save(store: SessionStore, session: Session) -> Session:
    return await Sessions(store).save(session)


async def _must_load(store: SessionStore, session_id: str, *, user_id: str = DEFAULT_USER, **kwargs: Any) -> Session:
    loaded = await Sessions(store).find(session_id, user_id=user_id, **kwargs)
    assert loaded is not None, f"session {session_id} of {user_id} should exist"
    return loaded


@pytest.mark.asyncio
class StoreContract:
    """What every session store must do. Subclass with a ``make_store`` fixture."""

    @pytest.fixture
    def make_store(self) -> StoreMaker:
        """Return ``make_store(ttl=0)``; override in the subclass."""
        raise NotImplementedError("subclass StoreContract and provide a make_store fixture")

    async def corrupt_record(self, store: SessionStore, user_id: str, session_id: str, raw: str) -> None:
        """Overwrite the stored header (meta) record of ``user_id``'s ``session_id`` with ``raw``; override."""
        raise NotImplementedError("subclass StoreContract and implement corrupt_record")

    # ------------------------------------------------------------- round trip
    async def test_round_trip_of_every_field(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid(), user_id="alice", name="Trip planning", tags=["travel", "q3"])
        session.set("plan", {"city": "Lisbon", "days": 3, "budget": 1200.5, "ok": True, "none": None})
        session.set("blob", b"\x00\xffbinary")
        session.set("dollar", {"$bytes": "not really bytes", "$ref": ["$x"]})
        session.set("unicode", "naïve ☕ 東京")
        session.namespace("langgraph")["checkpoint"] = {"step": 2, "messages": ["a", "b"]}
        session.append_turn(sample_turn("first"))
        session.append_turn(sample_turn("second", agent="other"))
        await _save(store, session)

        loaded = await _must_load(store, session.id, user_id="alice")
        header = (loaded.id, loaded.user_id, loaded.name, loaded.tags)
        assert header == (session.id, "alice", "Trip planning", ("travel", "q3"))
        assert loaded.created_at == pytest.approx(session.created_at)
        assert loaded.updated_at == pytest.approx(session.updated_at)
        assert loaded.version == 1
        assert loaded.get("plan") == {"city": "Lisbon", "days": 3, "budget": 1200.5, "ok": True, "none": None}
        assert loaded.get("blob") == b"\x00\xffbinary"
        assert loaded.get("dollar") == {"$bytes": "not really bytes", "$ref": ["$x"]}
        assert loaded.get("unicode") == "naïve ☕ 東京"
        assert dict(loaded.namespace("langgraph")) == {"checkpoint": {"step": 2, "messages": ["a", "b"]}}
        assert loaded.turn_count == 2
        assert list(loaded.turns) == list(session.turns)
        assert [t.index for t in loaded.turns] == [0, 1]
        assert loaded.size_bytes == session.size_bytes
        assert not loaded.has_changes

    async def test_load_returns_the_committed_records_undecoded(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        session.set("plan", {"city": "Lisbon"})
        session.namespace("langgraph")["blob"] = b"\x00\x01"
        session.append_turn(sample_turn("first"))
        change = pending_change(session)
        await store.commit(change)

        stored = await store.load(DEFAULT_USER, session.id)
        assert isinstance(stored, StoredSession)
        assert stored.meta == change.meta
        assert {ns: {k: _text(v) for k, v in records.items()} for ns, records in stored.values.items()} == {
            ns: dict(records) for ns, records in change.updated.items()
        }
        assert [_text(raw) for raw in stored.turns] == list(change.turns)

    async def test_optional_setup_is_declared_and_idempotent(self, make_store: StoreMaker) -> None:
        store = make_store()
        assert supports_setup(store) == isinstance(store, SupportsSetup)
        sid = _sid()
        await _save(store, Session(sid, user_id="frank"))
        if supports_setup(store):  # the ability is optional; a store without it is used as it is
            await store.setup()
            assert await store.setup() is False, "a second setup must find everything in place"
        assert (await _must_load(store, sid, user_id="frank")).version == 1

    async def test_missing_session_loads_as_none(self, make_store: StoreMaker) -> None:
        store = make_store()
        assert await store.load(DEFAULT_USER, _sid()) is None

    async def test_version_grows_by_one_per_commit(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        for expected in (1, 2, 3):
            session.set("n", expected)
            await _save(store, session)
            assert (await _must_load(store, session.id)).version == expected

    async def test_error_turn_round_trips(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        session.append_turn(
            Turn(
                agent="a",
                framework="scripted",
                input=[Message(role="user", content="x")],
                status="error",
                error=TurnError(type="ValueError", message="boom"),
            )
        )
        await _save(store, session)
        (turn,) = (await _must_load(store, session.id)).turns
        assert turn.status == "error" and turn.error == TurnError(type="ValueError", message="boom")

    # ------------------------------------------------------------- conflicts
    async def test_second_create_of_one_id_conflicts(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid = _sid()
        first, second = Session(sid), Session(sid)
        first.set("who", "first")
        second.set("who", "second")
        await _save(store, first)
        with pytest.raises(SessionConflict):
            await _save(store, second)
        assert (await _must_load(store, sid)).get("who") == "first"

    async def test_stale_commit_is_refused_and_changes_nothing(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        session.set("k", "v0")
        session.namespace("crewai")["memory"] = ["m0"]
        await _save(store, session)
        a = await _must_load(store, session.id)
        b = await _must_load(store, session.id)
        a.set("k", "from a")
        a.append_turn(sample_turn("a"))
        await _save(store, a)

        b.set("k", "from b")
        b.set("extra", 1)
        b.delete("k")
        b.namespace("crewai").clear()
        b.append_turn(sample_turn("b"))
        with pytest.raises(SessionConflict) as caught:
            await _save(store, b)
        assert caught.value.expected == 1 and caught.value.actual == 2

        now = await _must_load(store, session.id)
        assert now.version == 2
        assert now.get("k") == "from a" and now.get("extra") is None
        assert dict(now.namespace("crewai")) == {"memory": ["m0"]}
        assert [t.prompt for t in now.turns] == ["a"]

    async def test_twenty_concurrent_writers_keep_every_turn(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid = _sid()
        await _save(store, Session(sid))
        conflicts = 0

        async def writer(n: int) -> None:
            nonlocal conflicts
            for _ in range(500):
                session = await _must_load(store, sid, last_turns=0)
                session.append_turn(sample_turn(f"writer {n}"))
                session.set(f"writer-{n}", n)
                await asyncio.sleep(0)  # let the others load the same version
                try:
                    await _save(store, session)
                    return
                except SessionConflict:
                    conflicts += 1
            raise AssertionError(f"writer {n} never committed")

        await asyncio.gather(*(writer(n) for n in range(20)))
        final = await _must_load(store, sid)
        assert final.turn_count == 20
        assert sorted(t.prompt for t in final.turns) == sorted(f"writer {n}" for n in range(20))
        assert [t.index for t in final.turns] == list(range(20))
        assert len({t.id for t in final.turns}) == 20
        assert all(final.get(f"writer-{n}") == n for n in range(20))
        assert final.version == 21
        assert conflicts > 0, "the writers never overlapped, so the test proved nothing"

    # ---------------------------------------------------------------- deletes
    async def test_deleted_keys_and_cleared_namespaces_stay_deleted(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        session.set("keep", 1)
        session.set("drop", 2)
        ns = session.namespace("openai_agents")
        ns["a"], ns["b"] = 1, 2
        session.namespace("langgraph")["x"] = 1
        await _save(store, session)

        loaded = await _must_load(store, session.id)
        loaded.delete("drop")
        loaded.namespace("openai_agents").clear()
        loaded.namespace("openai_agents")["c"] = 3  # written after the clear: survives it
        del loaded.namespace("langgraph")["x"]
        await _save(store, loaded)

        again = await _must_load(store, session.id)
        assert again.keys() == ["keep"]
        assert dict(again.namespace("openai_agents")) == {"c": 3}
        assert dict(again.namespace("langgraph")) == {}
        assert "langgraph" not in again.namespaces()

    async def test_clearing_the_session_persists(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        session.set("a", 1)
        session.namespace("crewai")["b"] = 2
        session.append_turn(sample_turn("old"))
        await _save(store, session)

        loaded = await _must_load(store, session.id)
        loaded.clear(transcript=True)
        loaded.append_turn(sample_turn("new"))
        await _save(store, loaded)

        again = await _must_load(store, session.id)
        assert again.namespaces() == []
        assert [t.prompt for t in again.turns] == ["new"] and again.turn_count == 1
        assert again.turns[0].index == 0

    async def test_deleted_session_is_gone_and_its_id_starts_fresh(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid(), user_id="carol")
        session.set("secret", "s")
        session.namespace("langgraph")["cp"] = 1
        session.append_turn(sample_turn())
        await _save(store, session)

        assert await store.delete("carol", session.id) is True
        assert await store.load("carol", session.id) is None
        assert await store.delete("carol", session.id) is False
        assert session.id not in [m.id for m in (await store.list_sessions("carol")).sessions]

        fresh = Session(session.id, user_id="carol")
        await _save(store, fresh)
        reloaded = await _must_load(store, session.id, user_id="carol")
        assert reloaded.namespaces() == [] and reloaded.turn_count == 0 and reloaded.version == 1

    # ------------------------------------------------------------------ turns
    async def test_load_of_the_last_n_turns(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        for i in range(30):
            session.append_turn(sample_turn(f"t{i}"))
        await _save(store, session)

        last5 = await _must_load(store, session.id, last_turns=5)
        assert [t.prompt for t in last5.turns] == [f"t{i}" for i in range(25, 30)]
        assert [t.index for t in last5.turns] == list(range(25, 30))
        assert last5.turn_count == 30
        assert (await _must_load(store, session.id, last_turns=0)).turns == ()
        assert len((await _must_load(store, session.id, last_turns=100)).turns) == 30

    async def test_turns_appended_in_separate_commits_keep_order(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        await _save(store, session)
        for i in range(5):
            loaded = await _must_load(store, session.id, last_turns=1)
            loaded.append_turn(sample_turn(f"t{i}"))
            await _save(store, loaded)
        final = await _must_load(store, session.id)
        assert [t.prompt for t in final.turns] == [f"t{i}" for i in range(5)]
        assert [t.index for t in final.turns] == list(range(5))
        assert final.size_bytes == (await _must_load(store, session.id, last_turns=0)).size_bytes

    # ------------------------------------------------------------------ lease
    async def test_lease_is_exclusive_and_only_its_holder_releases_it(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid, u = _sid(), DEFAULT_USER
        assert await store.acquire_lease(u, sid, "token-a", 30) is True
        assert await store.acquire_lease(u, sid, "token-b", 30) is False
        assert await store.renew_lease(u, sid, "token-b", 30) is False
        assert await store.release_lease(u, sid, "token-b") is False
        assert await store.acquire_lease(u, sid, "token-b", 30) is False
        assert await store.renew_lease(u, sid, "token-a", 30) is True
        assert await store.release_lease(u, sid, "token-a") is True
        assert await store.acquire_lease(u, sid, "token-b", 30) is True
        assert await store.acquire_lease(u, _sid(), "token-a", 30) is True  # leases are per session

    async def test_leases_are_per_owner(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid = _sid()
        assert await store.acquire_lease("alice", sid, "alice-run", 30) is True
        assert await store.acquire_lease("bob", sid, "bob-run", 30) is True  # another owner's session
        assert await store.renew_lease("bob", sid, "alice-run", 30) is False
        assert await store.release_lease("bob", sid, "alice-run") is False
        assert await store.acquire_lease("alice", sid, "bob-run", 30) is False  # alice's is still held
        assert await store.release_lease("alice", sid, "alice-run") is True
        assert await store.renew_lease("bob", sid, "bob-run", 30) is True

    async def test_optional_lease_info_tells_the_time_left(self, make_store: StoreMaker) -> None:
        store = make_store()
        info: object = store
        if not supports_lease_info(info):  # the ability is optional: the runner then says "about 1 s"
            return
        sid, u = _sid(), DEFAULT_USER
        assert await info.lease_remaining(u, sid) is None
        assert await store.acquire_lease(u, sid, "holder", 30) is True
        left = await info.lease_remaining(u, sid)
        assert left is not None and 25 < left <= 30
        assert await info.lease_remaining("someone-else", sid) is None  # leases are per owner
        assert await store.release_lease(u, sid, "holder") is True
        assert await info.lease_remaining(u, sid) is None

    async def test_lease_expires(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid, u = _sid(), DEFAULT_USER
        # long enough that a slow backend (moto on a busy machine) answers the second call in time
        assert await store.acquire_lease(u, sid, "crashed-worker", 2.0) is True
        assert await store.acquire_lease(u, sid, "next", 2.0) is False
        await asyncio.sleep(2.3)
        assert await store.acquire_lease(u, sid, "next", 5) is True
        assert await store.renew_lease(u, sid, "crashed-worker", 5) is False
        assert await store.release_lease(u, sid, "crashed-worker") is False

    # -------------------------------------------------------------------- ttl
    async def test_ttl_is_sliding_and_expired_sessions_read_as_absent(self, make_store: StoreMaker) -> None:
        store = make_store(ttl=2)  # seconds to spare for a slow backend on a busy machine
        session = Session(_sid(), user_id="dave")
        session.set("n", 0)
        session.append_turn(sample_turn())
        await _save(store, session)
        await asyncio.sleep(1.2)
        session.set("n", 1)  # a write refreshes the TTL of every record
        await _save(store, session)
        await asyncio.sleep(1.2)
        alive = await _must_load(store, session.id, user_id="dave")  # 2.4 s after creation, 1.2 s after the last write
        assert alive.get("n") == 1 and alive.turn_count == 1
        await asyncio.sleep(2.2)
        assert await store.load("dave", session.id) is None
        assert session.id not in [m.id for m in (await store.list_sessions("dave")).sessions]
        fresh = Session(session.id, user_id="dave")  # an expired id may be created again
        await _save(store, fresh)
        reborn = await _must_load(store, session.id, user_id="dave")
        assert reborn.version == 1 and reborn.get("n") is None and reborn.turn_count == 0

    async def test_no_ttl_means_no_expiry(self, make_store: StoreMaker) -> None:
        store = make_store(ttl=0)
        session = Session(_sid())
        await _save(store, session)
        await asyncio.sleep(1.1)
        assert await store.load(DEFAULT_USER, session.id) is not None

    # --------------------------------------------------------------- corrupt
    @pytest.mark.parametrize(
        "raw",
        [
            "{not json",
            '{"v": 99, "kind": "meta", "data": {}}',
            f'{{"v": {SCHEMA_VERSION}, "kind": "meta", "data": {{"id": 3}}}}',
            "[]",
            _PREVIOUS_FORMAT_META,
        ],
        ids=["garbage", "future-version", "malformed", "wrong-shape", "previous-format"],
    )
    async def test_corrupt_record_is_reported_for_that_session_only(self, make_store: StoreMaker, raw: str) -> None:
        store = make_store()
        bad, good = Session(_sid(), user_id="erin"), Session(_sid(), user_id="erin")
        bad.set("x", 1)
        good.set("y", 2)
        await _save(store, bad)
        await _save(store, good)
        await self.corrupt_record(store, "erin", bad.id, raw.replace("$ID", bad.id))

        with pytest.raises(CorruptSession) as caught:
            await store.load("erin", bad.id)
        assert caught.value.session_id == bad.id and bad.id in str(caught.value)
        assert (await _must_load(store, good.id, user_id="erin")).get("y") == 2
        good_again = await _must_load(store, good.id, user_id="erin")
        good_again.set("y", 3)
        await _save(store, good_again)
        assert good.id in [m.id for m in (await store.list_sessions("erin")).sessions]

    # ---------------------------------------------------------------- listing
    async def test_listing_is_scoped_to_its_user_newest_first_and_paginated(self, make_store: StoreMaker) -> None:
        store = make_store()
        alice = [Session(_sid(), user_id="alice") for _ in range(5)]
        for i, session in enumerate(alice):
            session.set("i", i)
            await _save(store, session)
            await asyncio.sleep(0.01)
        await _save(store, Session(_sid(), user_id="bob"))
        await asyncio.sleep(0.01)
        alice[1].set("touched", True)  # most recently updated now
        await _save(store, alice[1])

        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = await store.list_sessions("alice", limit=2, cursor=cursor)
            assert len(page.sessions) <= 2
            seen.extend(m.id for m in page.sessions)
            assert all(m.user_id == "alice" for m in page.sessions)
            cursor = page.next_cursor
            if cursor is None:
                break
        expected = [alice[1].id] + [s.id for s in reversed(alice) if s is not alice[1]]
        assert seen == expected
        bob = await store.list_sessions("bob")
        assert len(bob.sessions) == 1 and bob.sessions[0].user_id == "bob" and bob.next_cursor is None
        assert (await store.list_sessions("nobody")).sessions == []

    # ------------------------------------------------------------ lives and owners
    async def test_a_commit_from_an_earlier_life_is_refused(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid = _sid()
        first = Session(sid, user_id="gina")
        first.set("owner", "first life")
        await _save(store, first)
        stale = await _must_load(store, sid, user_id="gina")  # version 1 of the first life
        assert await store.delete("gina", sid) is True
        second = Session(sid, user_id="gina")
        second.set("owner", "second life")
        await _save(store, second)  # version 1 again, of another life

        stale.set("owner", "stale")
        stale.append_turn(sample_turn("stale"))
        with pytest.raises(SessionConflict):
            await _save(store, stale)
        now = await _must_load(store, sid, user_id="gina")
        assert (now.version, now.get("owner"), now.turn_count) == (1, "second life", 0)
        assert now.meta.life != stale.meta.life

    async def test_a_commit_from_a_life_that_expired_is_refused(self, make_store: StoreMaker) -> None:
        store = make_store(ttl=1)
        sid = _sid()
        await _save(store, Session(sid, user_id="hank"))
        stale = await _must_load(store, sid, user_id="hank")
        await asyncio.sleep(1.2)
        reborn = Session(sid, user_id="hank")
        reborn.set("k", "new")
        await _save(store, reborn)

        stale.set("k", "stale")
        with pytest.raises(SessionConflict):
            await _save(store, stale)
        assert (await _must_load(store, sid, user_id="hank")).get("k") == "new"

    async def test_the_life_is_kept_across_commits(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid())
        assert session.meta.life == ""
        await _save(store, session)
        life = session.meta.life
        assert life
        session.set("n", 1)
        await _save(store, session)
        loaded = await _must_load(store, session.id)
        assert (loaded.meta.life, loaded.version) == (life, 2)

    async def test_two_owners_of_one_id_have_separate_sessions(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid = _sid()
        alice, bob = Session(sid, user_id="alice"), Session(sid, user_id="bob")
        alice.set("who", "alice")
        alice.append_turn(sample_turn("alice's"))
        bob.set("who", "bob")
        await _save(store, alice)
        await _save(store, bob)  # not a conflict: another owner's session of the same id

        assert (await _must_load(store, sid, user_id="alice")).get("who") == "alice"
        mine = await _must_load(store, sid, user_id="bob")
        assert (mine.get("who"), mine.turn_count, mine.version) == ("bob", 0, 1)
        assert await store.load("carol", sid) is None

        assert await store.delete("bob", sid) is True
        assert await store.load("bob", sid) is None
        assert (await _must_load(store, sid, user_id="alice")).turn_count == 1
        assert [m.id for m in (await store.list_sessions("alice")).sessions] == [sid]
        assert (await store.list_sessions("bob")).sessions == []

    async def test_a_session_object_writes_only_into_its_owners_session(self, make_store: StoreMaker) -> None:
        store = make_store()
        sid = _sid()
        alice = Session(sid, user_id="alice")
        alice.set("k", "alice")
        await _save(store, alice)

        loaded = await _must_load(store, sid, user_id="alice")
        loaded.set("k", "bob was here")
        with pytest.raises(SessionNotFound):
            await Sessions(store).save(loaded, user_id="bob")  # bob acting on alice's object
        intruder = Session(sid, user_id="bob")
        intruder.set("k", "bob")
        await _save(store, intruder)  # bob's own session of that id
        assert (await _must_load(store, sid, user_id="alice")).get("k") == "alice"
        assert (await _must_load(store, sid, user_id="alice")).version == 1

    async def test_a_corrupt_session_can_be_deleted(self, make_store: StoreMaker) -> None:
        store = make_store()
        session = Session(_sid(), user_id="ivy")
        session.set("x", 1)
        session.append_turn(sample_turn())
        await _save(store, session)
        await self.corrupt_record(store, "ivy", session.id, "{not json")
        with pytest.raises(CorruptSession):
            await store.load("ivy", session.id)

        await Sessions(store).delete(session.id, user_id="ivy")
        assert await store.load("ivy", session.id) is None
        assert await store.delete("ivy", session.id) is False
        fresh = Session(session.id, user_id="ivy")
        await _save(store, fresh)
        assert (await _must_load(store, session.id, user_id="ivy")).turn_count == 0

    async def test_each_owner_sees_what_they_would_see_alone(self, make_store: StoreMaker) -> None:
        # Two owners' operations on the same ids, interleaved at random: each owner's answers must
        # be exactly those of the same operations with the other owner absent.
        store = make_store()
        names, ops = ("one", "two"), ("save", "get", "delete", "list", "hold", "release")
        for seed in range(2):
            rng = random.Random(seed)
            plan = [(rng.choice("ab"), rng.choice(ops), rng.choice(names)) for _ in range(16)]
            together = await _two_owners(store, plan, uuid.uuid4().hex[:8])
            for who in "ab":
                alone = await _two_owners(store, [op for op in plan if op[0] == who], uuid.uuid4().hex[:8])
                assert together[who] == alone[who], f"owner {who}'s answers depended on the other's ({plan})"


async def _two_owners(store: SessionStore, plan: list[tuple[str, str, str]], tag: str) -> dict[str, list[Any]]:
    """Apply ``plan`` (owner, operation, session name) under fresh ids; what each owner saw."""
    sessions = Sessions(store)
    seen: dict[str, list[Any]] = {"a": [], "b": []}
    for who, op, name in plan:
        user, sid, step = f"{who}-{tag}", f"{tag}-{name}", len(seen[who])
        out: Any
        try:
            if op == "save":
                session = await sessions.find(sid, user_id=user) or Session(sid, user_id=user)
                session.set("n", step)
                session.append_turn(sample_turn(f"{who} {step}"))
                out = (await sessions.save(session, user_id=user)).version
            elif op == "get":
                found = await sessions.find(sid, user_id=user)
                out = None if found is None else (found.version, found.get("n"), [t.prompt for t in found.turns])
            elif op == "delete":
                out = await store.delete(user, sid)
            elif op == "list":
                page = await store.list_sessions(user)
                out = sorted((m.id.removeprefix(tag), m.version, m.turn_count) for m in page.sessions)
            elif op == "hold":
                out = await store.acquire_lease(user, sid, f"{who}-run", 60)
            else:
                out = await store.release_lease(user, sid, f"{who}-run")
        except (SessionConflict, SessionNotFound) as exc:
            out = type(exc).__name__
        seen[who].append(out)
    return seen
