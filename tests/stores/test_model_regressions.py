"""Minimal failing sequences the model-based test (tests/stores/test_model.py) found, kept as tests.

Each was found by the model-based test and failed before its fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agentkernel.errors import SessionBusy, SessionConflict, SessionNotFound
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores import InMemoryStore
from agentkernel.stores.base import SessionStore
from agentkernel.testing import ScriptedAgent

if TYPE_CHECKING:
    from agentkernel.stores.redis import RedisStore

pytestmark = pytest.mark.asyncio


def _runner(store: SessionStore) -> Runner:
    return Runner(store, settings=load_settings(runner={"busy": "reject"}))


async def test_a_handle_from_an_earlier_life_cannot_commit() -> None:
    # Found as: run_by_id(alice, s0); load_handle(alice, s0); delete(alice, s0);
    # run_by_id(alice, s0); edit(set a); save(handle) -> accepted.
    store = InMemoryStore()
    runner, sessions = _runner(store), Sessions(store)
    await runner.run(ScriptedAgent(), "s0", "first life", user_id="alice")
    stale = await sessions.get("s0", user_id="alice")
    await sessions.delete("s0", user_id="alice")
    await runner.run(ScriptedAgent(), "s0", "second life", user_id="alice")
    stale.set("a", 1)
    with pytest.raises((SessionConflict, SessionNotFound)):
        await sessions.save(stale)
    current = await sessions.get("s0", user_id="alice")
    assert current.get("a") is None
    assert [turn.input[-1].content for turn in current.turns] == ["second life"]


async def test_another_users_run_on_the_same_id_is_not_blocked() -> None:
    # Found as: run_while_another_holds_the_lease(user=bob, sid=s0, rival=alice) -> SessionBusy.
    store = InMemoryStore()
    runner, rival = _runner(store), _runner(store)
    seen: list[BaseException | None] = []

    async def alice_runs(context: object) -> str:
        try:
            await rival.run(ScriptedAgent(), "s0", "alice", user_id="alice")
        except SessionBusy as exc:
            seen.append(exc)
        else:
            seen.append(None)
        return "done"

    await runner.run(ScriptedAgent(replies=[alice_runs]), "s0", "bob", user_id="bob")
    assert seen == [None]


async def test_each_user_has_their_own_session_of_an_id() -> None:
    # Found as: run_by_id(bob, s0); fresh_handle(alice, s0); save / run_with_handle -> refused.
    store = InMemoryStore()
    runner, sessions = _runner(store), Sessions(store)
    await runner.run(ScriptedAgent(), "s0", "bob's", user_id="bob")
    await runner.run(ScriptedAgent(), "s0", "alice's", user_id="alice")
    mine = Session("s1", user_id="alice")
    await runner.run(ScriptedAgent(), "s1", "bob's", user_id="bob")
    await sessions.save(mine)
    alice = await sessions.get("s0", user_id="alice")
    assert [turn.input[-1].content for turn in alice.turns] == ["alice's"]


async def test_clear_on_a_fresh_handle_is_applied_by_a_run() -> None:
    store = InMemoryStore()
    runner, sessions = _runner(store), Sessions(store)
    first = Session("s0", user_id="alice")
    first.set("a", 1)
    await sessions.save(first)
    fresh = Session("s0", user_id="alice")
    fresh.clear()
    await runner.run(ScriptedAgent(), fresh, "hi")
    assert (await sessions.get("s0", user_id="alice")).keys() == []


async def test_clear_then_set_keeps_the_set_in_a_run() -> None:
    store = InMemoryStore()
    runner, sessions = _runner(store), Sessions(store)
    await runner.run(ScriptedAgent(), "s0", "before", user_id="alice")
    handle = await sessions.get("s0", user_id="alice")
    handle.set("x", 1)
    await sessions.save(handle)
    handle.clear(transcript=True)
    handle.set("b", 2)
    await runner.run(ScriptedAgent(), handle, "after")
    loaded = await sessions.get("s0", user_id="alice")
    assert loaded.keys() == ["b"]
    assert [turn.input[-1].content for turn in loaded.turns] == ["after"]


async def test_a_committed_session_is_listed_by_the_commit_itself(redis_store: RedisStore) -> None:
    # Found by TestModelRedis as: faulty_op(run, bob, s2, chaos) -> the run reported success (or an
    # ambiguous error) and the session loads, but bob's listing is empty: the listing index was
    # updated by a second call after the commit, which a reset connection could lose. Here every
    # script call but the commit's fails, as such a reset would.
    from redis.exceptions import ConnectionError as RedisConnectionError

    from agentkernel._records import pending_change
    from agentkernel.session import Session

    real_evalsha = redis_store.client.evalsha
    commit_sha = redis_store._commit.sha

    async def only_the_commit(sha: str, *args: object) -> object:
        if sha != commit_sha:
            raise RedisConnectionError("Connection reset by peer")
        return await real_evalsha(sha, *args)

    await redis_store.client.ping()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redis_store.client, "evalsha", only_the_commit)
        await redis_store.commit(pending_change(Session("s0", user_id="bob")))
    page = await Sessions(redis_store).list(user_id="bob")
    assert [meta.id for meta in page.sessions] == ["s0"]
