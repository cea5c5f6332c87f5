"""A run cancelled during its commit has a defined outcome: the commit finishes, then the cancellation."""

from __future__ import annotations

import asyncio

import pytest

from agentkernel import InMemoryStore, Runner, Sessions
from agentkernel.settings import load_settings
from agentkernel.stores import SessionChange
from agentkernel.testing import ScriptedAgent


class SlowCommitStore(InMemoryStore):
    """Commits take a while, and say when they begin."""

    def __init__(self) -> None:
        super().__init__()
        self.committing = asyncio.Event()

    async def commit(self, change: SessionChange) -> None:
        self.committing.set()
        await asyncio.sleep(0.3)
        await super().commit(change)


async def test_a_run_cancelled_during_its_commit_commits_then_raises_cancelled() -> None:
    store = SlowCommitStore()
    runner = Runner(store, settings=load_settings())
    run = asyncio.create_task(runner.run(ScriptedAgent(replies=["kept"]), "s", "hi"))
    await store.committing.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    session = await Sessions(store).get("s")
    assert [turn.output for turn in session.turns] == ["kept"]
    assert await store.acquire_lease("anonymous", "s", "next", 1.0), "the lease was not released"


async def test_a_run_cancelled_before_its_commit_commits_nothing() -> None:
    store = SlowCommitStore()
    runner = Runner(store, settings=load_settings())
    run = asyncio.create_task(runner.run(ScriptedAgent(replies=["dropped"], delay=0.3), "s", "hi"))
    await asyncio.sleep(0.1)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not store.committing.is_set()
    assert await Sessions(store).find("s") is None
