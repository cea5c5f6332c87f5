"""Cross-framework sessions: an SDK agent sees turns other agents took, each exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from agentkernel_openai_agents import OpenAIAgentsAdapter
from agentkernel_openai_agents.testing import FunctionModel, ModelReply
from agents import Agent

from agentkernel.registry import AdapterSet
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores import SessionChange
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import ScriptedAdapter, ScriptedAgent


class Recorder:
    """A scripted SDK model that keeps the texts of every call it gets."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> ModelReply:
        self.calls.append(texts)
        return f"sdk answer {len(self.calls)}"


def make_runner(store: InMemoryStore, *, chunk_size: int = 64) -> Runner:
    adapters = AdapterSet([OpenAIAgentsAdapter(chunk_size=chunk_size), ScriptedAdapter()])
    return Runner(store, settings=load_settings(runner={"busy": "reject"}), adapters=adapters)


async def test_turns_of_another_framework_reach_the_sdk_agent_once_and_in_order() -> None:
    runner = make_runner(InMemoryStore())
    model = Recorder()
    sdk_agent = Agent(name="sdk", instructions="Be brief.", model=FunctionModel(model))
    other = ScriptedAgent("notes", replies=["Noted the code."])
    session = Session()
    await runner.run(other, session, "Remember: the code is 4417")
    await runner.run(sdk_agent, session, "What is the code?")
    assert model.calls[0] == ["Be brief.", "Remember: the code is 4417", "Noted the code.", "What is the code?"]
    await runner.run(other, session, "Remember: the door is red")
    await runner.run(sdk_agent, session, "And the door?")
    assert model.calls[1] == [
        "Be brief.",
        "Remember: the code is 4417",
        "Noted the code.",
        "What is the code?",
        "sdk answer 1",
        "Remember: the door is red",
        "Noted the code.",
        "And the door?",
    ]


async def test_an_agent_with_own_history_does_not_see_other_agents() -> None:
    runner = make_runner(InMemoryStore())
    model = Recorder()
    runner.register(Agent(name="private", model=FunctionModel(model)), history="own")
    session = Session()
    await runner.run(ScriptedAgent("notes", replies=["ok"]), session, "Remember: secret")
    await runner.run("private", session, "Hello")
    await runner.run("private", session, "Again")
    assert model.calls == [["Hello"], ["Hello", "sdk answer 1", "Again"]]


async def test_two_sdk_agents_in_one_session_keep_separate_conversations() -> None:
    runner = make_runner(InMemoryStore())
    first, second = Recorder(), Recorder()
    session = Session()
    await runner.run(Agent(name="one", model=FunctionModel(first)), session, "Remember: one")
    await runner.run(Agent(name="two", model=FunctionModel(second)), session, "Hi two")
    await runner.run(Agent(name="one", model=FunctionModel(first)), session, "Hi one")
    assert second.calls[0] == ["Remember: one", "sdk answer 1", "Hi two"]
    assert first.calls[1] == ["Remember: one", "sdk answer 1", "Hi two", "sdk answer 1", "Hi one"]


async def test_failed_turns_of_others_are_fed_as_failed() -> None:
    runner = make_runner(InMemoryStore())
    model = Recorder()

    def broken(context: Any) -> str:
        raise RuntimeError("boom")

    session = Session()
    with pytest.raises(Exception, match="boom"):
        await runner.run(ScriptedAgent("broken", replies=[broken]), session, "Remember: never")
    await runner.run(Agent(name="sdk", model=FunctionModel(model)), session, "Hi")
    assert model.calls == [["Remember: never", "[this turn failed (RuntimeError); no answer was given]", "Hi"]]


async def test_a_turn_commits_only_the_chunks_it_changed() -> None:
    store = InMemoryStore()
    changes: list[SessionChange] = []
    real_commit = store.commit

    async def spy(change: SessionChange) -> None:
        changes.append(change)
        await real_commit(change)

    store.commit = spy  # type: ignore[method-assign]
    runner = make_runner(store, chunk_size=2)
    agent = Agent(name="sdk", model=FunctionModel(Recorder()))
    session = Session()
    for n in range(6):  # each turn adds two items: the prompt and the answer
        await runner.run(agent, session, f"prompt {n}")
    written = set(changes[-1].updated["openai_agents"])
    assert written == {"sdk/count", "sdk/items/5", "sdk/history_next"}
    stored = await Sessions(store).find(session.id)
    assert stored is not None
    assert len([key for key in stored.namespace("openai_agents") if "/items/" in key]) == 6
