"""The OpenAI Agents SDK adapter: the adapter contract, steps, usage, tracing and isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agentkernel_openai_agents import OpenAIAgentsAdapter, build_run_config
from agentkernel_openai_agents.testing import FunctionModel, ModelReply
from agents import Agent, RunConfig, function_tool
from agents.testing import function_call

from agentkernel.errors import AgentRunError
from agentkernel.registry import AdapterSet
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.base import SessionStore
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import ScriptedAgent
from agentkernel.testing.adapter_contract import AdapterContract, AgentMaker, Respond


class TestOpenAIAgentsAdapter(AdapterContract):
    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        def make(respond: Respond) -> object:
            return Agent(name="probe", model=FunctionModel(respond))

        return make


class TestOpenAIAgentsAdapterOnRedis(TestOpenAIAgentsAdapter):
    """The same contract with every session kept in a real Redis."""

    @pytest.fixture
    async def store(self, redis_store: SessionStore) -> SessionStore:
        return redis_store


def runner(store: InMemoryStore | None = None) -> Runner:
    return Runner(store or InMemoryStore(), settings=load_settings(runner={"busy": "reject"}))


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def tool_then_answer(texts: list[str]) -> ModelReply:
    if not any(t.startswith("sunny in") for t in texts):
        return [function_call("weather", {"city": "Paris"}, call_id="call_w1")]
    return f"The forecast says: {texts[-1]}"


def test_the_adapter_is_found_through_its_entry_point() -> None:
    agent = Agent(name="found", model=FunctionModel(lambda texts: "hi"))
    adapter = AdapterSet().for_agent(agent)
    assert isinstance(adapter, OpenAIAgentsAdapter)
    assert adapter.name == "openai_agents"


def test_recognizes_only_sdk_agents() -> None:
    adapter = OpenAIAgentsAdapter()
    assert adapter.recognizes(Agent(name="a", model=FunctionModel(lambda texts: "")))
    assert not adapter.recognizes(ScriptedAgent("s"))
    assert not adapter.recognizes(object())


class HouseAgent(Agent[None]):
    """An application's own subclass, defined outside the SDK's modules."""


def test_recognizes_subclasses_defined_elsewhere() -> None:
    agent = HouseAgent(name="house", model=FunctionModel(lambda texts: "home"))
    assert type(agent).__module__ == __name__
    assert OpenAIAgentsAdapter().recognizes(agent)


async def test_tool_call_is_a_step_with_arguments_and_result() -> None:
    agent = Agent(name="forecaster", model=FunctionModel(tool_then_answer), tools=[weather])
    turn = await runner().run(agent, Session(), "Weather in Paris?")
    assert turn.output == "The forecast says: sunny in Paris"
    kinds = [step.kind for step in turn.steps]
    assert kinds == ["model_call", "tool_call", "model_call"]
    tool = turn.steps[1]
    assert tool.name == "weather"
    assert tool.agent == "forecaster"
    assert tool.arguments == {"city": "Paris"}
    assert tool.result == "sunny in Paris"


async def test_handoff_between_sdk_agents_is_a_handoff_step() -> None:
    specialist = Agent(name="specialist", model=FunctionModel(lambda texts: "specialist here: " + texts[0]))

    def triage_model(texts: list[str]) -> ModelReply:
        return [function_call("transfer_to_specialist", {}, call_id="call_h1")]

    triage = Agent(name="triage", model=FunctionModel(triage_model), handoffs=[specialist])
    turn = await runner().run(triage, Session(), "I need an expert")
    assert turn.output == "specialist here: I need an expert"
    handoffs = [step for step in turn.steps if step.kind == "handoff"]
    assert len(handoffs) == 1
    assert handoffs[0].agent == "triage"
    assert handoffs[0].name == "specialist"
    calls = [step.agent for step in turn.steps if step.kind == "model_call"]
    assert calls == ["triage", "specialist"]
    assert turn.metadata["last_agent"] == "specialist"


async def test_token_usage_is_recorded_per_call_and_summed() -> None:
    agent = Agent(name="forecaster", model=FunctionModel(tool_then_answer), tools=[weather])
    turn = await runner().run(agent, Session(), "Weather in Paris?")
    calls = [step for step in turn.steps if step.kind == "model_call"]
    assert all(step.usage is not None and step.usage.requests == 1 for step in calls)
    first, second = (step.usage for step in calls)
    assert first is not None
    assert second is not None
    assert first.input_tokens == 3  # "Weather in Paris?"
    assert second.output_tokens == len(["The", "forecast", "says:", "sunny", "in", "Paris"])
    assert turn.usage is not None
    assert turn.usage.requests == 2
    assert turn.usage.input_tokens == first.input_tokens + second.input_tokens
    assert turn.usage.total_tokens == first.total_tokens + second.total_tokens > 0


async def test_streamed_tool_call_and_usage_match_the_committed_turn() -> None:
    agent = Agent(name="forecaster", model=FunctionModel(tool_then_answer), tools=[weather])
    events = [event async for event in runner().stream(agent, Session(), "Weather in Paris?")]
    turn = events[-1].turn
    assert turn is not None
    streamed_steps = [event.step for event in events if event.type == "step"]
    assert streamed_steps == turn.steps
    assert [step.kind for step in turn.steps] == ["model_call", "tool_call", "model_call"]
    assert turn.steps[1].result == "sunny in Paris"
    assert turn.steps[1].started_at is not None
    assert "".join(event.text for event in events if event.type == "delta") == turn.output
    assert turn.usage is not None
    assert turn.usage.requests == 2


async def test_streamed_model_error_is_an_error_turn() -> None:
    def explode(texts: list[str]) -> ModelReply:
        raise RuntimeError("model down")

    with pytest.raises(AgentRunError) as caught:
        async for _ in runner().stream(Agent(name="x", model=FunctionModel(explode)), Session(), "hi"):
            pass
    error = caught.value.turn.error
    assert caught.value.turn.status == "error"
    assert error is not None
    assert "model down" in error.message


async def test_two_concurrent_sessions_on_one_agent_are_isolated() -> None:
    seen: dict[str, list[str]] = {}

    def respond(texts: list[str]) -> ModelReply:
        name = texts[0].removeprefix("I am ")
        seen.setdefault(name, []).extend(texts)
        return f"hello {name}"

    agent = Agent(name="greeter", model=FunctionModel(respond))
    shared_model = agent.model
    store = InMemoryStore()
    run = runner(store)
    sessions = [Session() for _ in range(4)]
    names = ["Ada", "Bob", "Cy", "Di"]
    await asyncio.gather(*(run.run(agent, s, f"I am {n}") for s, n in zip(sessions, names, strict=True)))
    turns = await asyncio.gather(*(run.run(agent, s, "again") for s in sessions))
    assert [t.output for t in turns] == [f"hello {n}" for n in names]
    for name in names:
        assert not any(other in text for text in seen[name] for other in names if other != name)
    assert agent.model is shared_model
    assert agent.name == "greeter"


async def test_runs_disable_tracing_and_start_no_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    import agents
    from agents.tracing import get_trace_provider

    configs: list[RunConfig] = []
    real_run = agents.Runner.run

    async def spy_run(*args: Any, **kwargs: Any) -> Any:
        configs.append(kwargs["run_config"])
        return await real_run(*args, **kwargs)

    provider = get_trace_provider()
    real_create = provider.create_trace
    traces: list[bool] = []

    def spy_create(*args: Any, **kwargs: Any) -> Any:
        trace = real_create(*args, **kwargs)
        traces.append(type(trace).__name__ != "NoOpTrace")
        return trace

    monkeypatch.setattr(agents.Runner, "run", spy_run)
    monkeypatch.setattr(provider, "create_trace", spy_create)
    await runner().run(Agent(name="quiet", model=FunctionModel(lambda texts: "ok")), Session(), "hi")
    assert configs
    assert all(config.tracing_disabled for config in configs)
    assert not any(traces), "a real trace was started under the kernel"


def test_tracing_is_opt_in_through_agent_options() -> None:
    assert build_run_config({}).tracing_disabled is True
    assert build_run_config({"run_config": RunConfig(workflow_name="w")}).tracing_disabled is True
    assert build_run_config({"tracing": True}).tracing_disabled is False
    assert build_run_config({"tracing": True, "run_config": RunConfig(workflow_name="w")}).workflow_name == "w"
    with pytest.raises(TypeError, match=r"agents\.RunConfig"):
        build_run_config({"run_config": {"tracing_disabled": False}})


async def test_agent_options_reach_the_sdk_run() -> None:
    def loop_forever(texts: list[str]) -> ModelReply:
        return [function_call("weather", {"city": "Oslo"}, call_id=f"call_{len(texts)}")]

    run = runner()
    run.register(Agent(name="looper", model=FunctionModel(loop_forever), tools=[weather]), max_turns=2)
    with pytest.raises(AgentRunError, match="MaxTurnsExceeded"):
        await run.run("looper", Session(), "go")


@function_tool(needs_approval=True)
def drop_table(table: str) -> str:
    """Drop a table (needs a human's approval)."""
    return "dropped"


async def test_a_run_stopped_for_tool_approval_fails_and_commits_nothing() -> None:
    store = InMemoryStore()
    agent = Agent(
        name="dba",
        model=FunctionModel(lambda texts: [function_call("drop_table", {"table": "users"}, call_id="call_d1")]),
        tools=[drop_table],
    )
    session = Session()
    with pytest.raises(AgentRunError, match=r"ToolApprovalPending.*drop_table"):
        await runner(store).run(agent, session, "Drop users")
    stored = await Sessions(store).find(session.id)
    assert stored is not None
    assert [t.status for t in stored.turns] == ["error"]
    assert not stored.namespace("openai_agents")


async def test_a_consumer_that_stops_early_cancels_the_sdk_run() -> None:
    calls: list[list[str]] = []
    tool_runs: list[str] = []

    @function_tool
    def slow_lookup(key: str) -> str:
        """Look a key up."""
        tool_runs.append(key)
        return "found"

    def respond(texts: list[str]) -> ModelReply:
        calls.append(texts)
        return [function_call("slow_lookup", {"key": "k"}, call_id=f"call_{len(calls)}")]

    agent = Agent(name="looker", model=FunctionModel(respond), tools=[slow_lookup])
    stream = runner().stream(agent, Session(), "look it up")
    first = await anext(aiter(stream))
    assert first.type == "step"
    assert first.step is not None
    assert first.step.kind == "model_call"
    await stream.aclose()  # type: ignore[attr-defined]
    for _ in range(20):  # let any task the SDK left behind run, if one was left
        await asyncio.sleep(0.01)
    assert len(calls) == 1
    assert tool_runs == []


def triage_pair() -> tuple[Agent[Any], list[str]]:
    called: list[str] = []

    def specialist_model(texts: list[str]) -> ModelReply:
        called.append("specialist")
        return "specialist answers"

    def triage_model(texts: list[str]) -> ModelReply:
        called.append("triage")
        return [function_call("transfer_to_specialist", {}, call_id=f"call_t{len(called)}")]

    specialist = Agent(name="specialist", model=FunctionModel(specialist_model))
    return Agent(name="triage", model=FunctionModel(triage_model), handoffs=[specialist]), called


@pytest.mark.parametrize("streaming", [False, True])
async def test_resume_last_agent_starts_the_next_run_where_the_handoff_led(streaming: bool) -> None:
    triage, called = triage_pair()
    run = runner()
    run.register(triage, name="desk", resume_last_agent=True)
    session = Session()
    for prompt in ("I need an expert", "And one more thing"):
        if streaming:
            events = [event async for event in run.stream("desk", session, prompt)]
            turn = events[-1].turn
        else:
            turn = await run.run("desk", session, prompt)
        assert turn is not None
        assert turn.output == "specialist answers"
    assert called == ["triage", "specialist", "specialist"]


async def test_without_resume_each_run_starts_at_the_registered_agent() -> None:
    triage, called = triage_pair()
    session = Session()
    run = runner()
    await run.run(triage, session, "I need an expert")
    await run.run(triage, session, "And one more thing")
    assert called == ["triage", "specialist", "triage", "specialist"]
