"""Cancelling a CrewAI run holds the session until the crew's thread has really stopped."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agentkernel import InMemoryStore, Runner
from agentkernel.session import DEFAULT_USER
from agentkernel.settings import load_settings

pytestmark = pytest.mark.usefixtures("crewai_home")


async def test_a_cancelled_crew_run_keeps_the_lease_until_the_crew_has_stopped() -> None:
    from agentkernel_crewai.testing import one_agent_crew

    in_model = threading.Event()
    model_done = threading.Event()

    def slow_model(texts: list[str]) -> str:
        in_model.set()
        time.sleep(0.6)  # a model call the crew's thread cannot be interrupted in
        model_done.set()
        return "late answer"

    store = InMemoryStore()
    runner = Runner(store, settings=load_settings())
    run = asyncio.create_task(runner.run(one_agent_crew(slow_model), "crew-session", "hi"))
    assert await asyncio.to_thread(in_model.wait, 60)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert model_done.is_set(), "the run returned (and released its lease) while the crew was still running"
    assert await store.acquire_lease(DEFAULT_USER, "crew-session", "next-run", 1.0)
    assert await store.load(DEFAULT_USER, "crew-session") is None, "a cancelled run committed"
