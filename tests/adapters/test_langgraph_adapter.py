from __future__ import annotations

import asyncio
import json
import operator
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict

import pytest
from agentkernel_langgraph import LangGraphAdapter, NamespaceSaver
from agentkernel_langgraph.testing import FunctionChatModel, text_graph
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt

from agentkernel import Session
from agentkernel.errors import AgentRunError, MissingDependency
from agentkernel.registry import AdapterSet
from agentkernel.runner import Runner
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import ScriptedAgent
from agentkernel.testing.scripted import ScriptedAdapter


@pytest.fixture
async def store() -> AsyncIterator[InMemoryStore]:
    store = InMemoryStore()
    yield store
    await store.aclose()


@pytest.fixture
def runner(store: InMemoryStore) -> Runner:
    adapters = AdapterSet([LangGraphAdapter(), ScriptedAdapter()])
    return Runner(store, settings=load_settings(runner={"busy": "reject"}), adapters=adapters)


def texts(messages: list[BaseMessage]) -> list[str]:
    return [m.text for m in messages]


def echo_graph(seen: list[list[str]] | None = None) -> Any:
    def respond(received: list[str]) -> str:
        if seen is not None:
            seen.append(received)
        return f"heard {len(received)}: {received[-1]}"

    return text_graph(respond)


# ------------------------------------------------------------------ recognising
def test_recognizes_compiled_graphs_only() -> None:
    adapter = LangGraphAdapter()
    assert adapter.recognizes(text_graph(lambda t: "x"))
    assert not adapter.recognizes(ScriptedAgent())
    assert not adapter.recognizes(StateGraph(MessagesState))  # not compiled
    assert adapter.agent_name(text_graph(lambda t: "x")) == "probe"


def test_importing_and_refusing_other_agents_does_not_import_langgraph() -> None:
    code = (
        "import sys\n"
        "from agentkernel_langgraph import LangGraphAdapter\n"
        "from agentkernel.testing import ScriptedAgent\n"
        "assert not LangGraphAdapter().recognizes(ScriptedAgent())\n"
        "assert not LangGraphAdapter().recognizes(object())\n"
        "print(sorted(m for m in sys.modules if m.startswith(('langgraph', 'langchain'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_langgraph_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = text_graph(lambda t: "x")
    monkeypatch.setitem(sys.modules, "langgraph.pregel", None)
    with pytest.raises(MissingDependency, match=r"pip install 'agentkernel\[langgraph\]'"):
        LangGraphAdapter().recognizes(graph)


def test_keep_checkpoints_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="keep_checkpoints"):
        LangGraphAdapter(keep_checkpoints=-1)


# ------------------------------------------------------------- steps and usage
def weather_agent() -> Any:
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    def reply(messages: list[BaseMessage]) -> str | AIMessage:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return f"The forecast: {last.text}"
        call = {"name": "get_weather", "args": {"city": "Lisbon"}, "id": "call-1", "type": "tool_call"}
        return AIMessage(content="", tool_calls=[call])

    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in favour of langchain.agents, not installed here
        return create_react_agent(FunctionChatModel(reply, model_name="scripted-gpt"), [get_weather], name="forecaster")


async def test_prebuilt_agent_records_model_and_tool_calls_in_order(runner: Runner) -> None:
    turn = await runner.run(weather_agent(), Session(), "Weather in Lisbon?")
    assert turn.output == "The forecast: sunny in Lisbon"
    assert turn.agent == "forecaster"
    assert turn.framework == "langgraph"
    assert [(s.kind, s.name) for s in turn.steps] == [
        ("model_call", "scripted-gpt"),
        ("tool_call", "get_weather"),
        ("model_call", "scripted-gpt"),
    ]
    tool_step = turn.steps[1]
    assert tool_step.arguments == {"city": "Lisbon"}
    assert tool_step.result == "sunny in Lisbon"
    assert tool_step.error is None
    assert turn.steps[0].arguments == {"tool_calls": ["get_weather"]}
    assert turn.usage is not None
    assert turn.usage.requests == 2
    assert turn.usage.total_tokens == sum(s.usage.total_tokens for s in turn.steps if s.usage) > 0


async def test_failing_tool_is_a_step_with_an_error(runner: Runner) -> None:
    @tool
    def broken(city: str) -> str:
        """Always fails."""
        raise ValueError("station offline")

    def reply(messages: list[BaseMessage]) -> str | AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return "sorry"
        return AIMessage(content="", tool_calls=[{"name": "broken", "args": {"city": "Oslo"}, "id": "c1"}])

    from langgraph.prebuilt import ToolNode, create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = create_react_agent(FunctionChatModel(reply), ToolNode([broken], handle_tool_errors=True))
    turn = await runner.run(agent, Session(), "Weather?")
    step = next(s for s in turn.steps if s.kind == "tool_call")
    assert step.name == "broken"
    assert step.error is not None
    assert "station offline" in step.error


# ------------------------------------------------------------ interrupt/resume
class Paint(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


def painter() -> Any:
    def ask(state: Paint) -> dict[str, list[BaseMessage]]:
        colour = interrupt({"question": "Which colour?"})
        return {"messages": [AIMessage(content=f"Painting it {colour} ({len(state['messages'])} messages so far)")]}

    builder = StateGraph(Paint)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(name="painter")


async def test_interrupt_pauses_the_turn_and_the_next_run_resumes_it(runner: Runner, store: InMemoryStore) -> None:
    graph = painter()
    session = Session()
    paused = await runner.run(graph, session, "Paint the fence")
    assert paused.status == "interrupted"
    assert json.loads(paused.output or "") == {"question": "Which colour?"}
    assert [s.kind for s in paused.steps] == ["interrupt"]
    assert paused.steps[0].result == {"question": "Which colour?"}

    # A fresh runner on the same store: the pause must come from the session, not from memory.
    again = Runner(store, adapters=AdapterSet([LangGraphAdapter()]))
    resumed = await again.run(graph, session.id, "green")
    assert resumed.status == "ok"
    assert resumed.output == "Painting it green (1 messages so far)"  # the resume value is not a message

    fresh = await again.run(graph, session.id, "Paint the door")
    assert fresh.status == "interrupted"  # a new run starts over, it is not a resume of the old pause


async def test_interrupt_with_text_value_is_the_output(runner: Runner) -> None:
    def ask(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [AIMessage(content=f"ok: {interrupt('Sure?')}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    session = Session()
    first = await runner.run(builder.compile(), session, "Delete it")
    assert (first.status, first.output) == ("interrupted", "Sure?")
    second = await runner.run(builder.compile(), session, "yes")
    assert (second.status, second.output) == ("ok", "ok: yes")


class TwoQuestions(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]
    answers: Annotated[list[str], operator.add]


async def test_several_pending_interrupts_are_answered_one_per_run(runner: Runner) -> None:
    def ask_name(state: TwoQuestions) -> dict[str, list[str]]:
        return {"answers": [f"name={interrupt('Name?')}"]}

    def ask_age(state: TwoQuestions) -> dict[str, list[str]]:
        return {"answers": [f"age={interrupt('Age?')}"]}

    def done(state: TwoQuestions) -> dict[str, list[BaseMessage]]:
        return {"messages": [AIMessage(content=", ".join(sorted(state["answers"])))]}

    builder = StateGraph(TwoQuestions)
    for name, node in (("name", ask_name), ("age", ask_age), ("done", done)):
        builder.add_node(name, node)
    builder.add_edge(START, "name")
    builder.add_edge(START, "age")
    builder.add_edge(["name", "age"], "done")
    graph, session = builder.compile(), Session()
    answers = {"Name?": "Ada", "Age?": "36"}
    first = await runner.run(graph, session, "Sign me up")
    assert first.status == "interrupted"
    asked_first, asked_second = (first.output or "").split("\n")
    assert {asked_first, asked_second} == set(answers)
    assert len(first.metadata["interrupt_ids"]) == 2
    second = await runner.run(graph, session, answers[asked_first])  # answers the first question shown
    assert (second.status, second.output) == ("interrupted", asked_second)
    third = await runner.run(graph, session, answers[asked_second])
    assert (third.status, third.output) == ("ok", "age=36, name=Ada")


# --------------------------------------------------------- bounded checkpoints
def checkpoint_keys(session: Session, agent: str) -> list[str]:
    return [k for k in session.namespace("langgraph") if k.startswith(f"{agent}/ckpt/")]


async def test_checkpoint_history_is_bounded_and_configurable(runner: Runner) -> None:
    graph = echo_graph()
    runner.register(graph, name="short", keep_checkpoints=1, durability="async")
    session = Session()
    sizes = []
    for i in range(6):
        await runner.run("short", session, f"message {i}")
        sizes.append((len(checkpoint_keys(session, "short")), len(session.namespace("langgraph"))))
    # Each turn makes several checkpoints (one per super-step with durability="async"); only the
    # latest and one earlier are kept, and the namespace stops growing in keys (channel values
    # no kept checkpoint needs are dropped).
    assert {count for count, _ in sizes} == {2}
    assert sizes[2][1] == sizes[5][1]
    saver = NamespaceSaver(session.namespace("langgraph"), thread_id=session.id, prefix="short/")
    assert len(list(saver.list({"configurable": {"thread_id": session.id}}))) == 2
    # Memory is still whole: the latest checkpoint holds every message.
    latest = saver.get_tuple({"configurable": {"thread_id": session.id}})
    assert latest is not None
    assert len(latest.checkpoint["channel_values"]["messages"]) == 12


async def test_by_default_one_checkpoint_per_turn_and_four_earlier_ones_are_kept(runner: Runner) -> None:
    probe, session = echo_graph(), Session()
    counts = []
    for i in range(7):
        await runner.run(probe, session, f"turn {i}")
        counts.append(len(checkpoint_keys(session, "probe")))
    assert counts == [1, 2, 3, 4, 5, 5, 5]
    assert (await runner.run(probe, session, "memory?")).output == "heard 15: memory?"


async def test_unknown_option_is_a_clear_error(runner: Runner) -> None:
    runner.register(echo_graph(), name="typo", keep_checkpoint=3)
    with pytest.raises(AgentRunError, match="valid options: durability, input_key, keep_checkpoints"):
        await runner.run("typo", Session(), "hi")


async def test_durability_option_is_checked(runner: Runner) -> None:
    runner.register(echo_graph(), name="careless", durability="never")
    with pytest.raises(AgentRunError, match="durability must be 'exit', 'async' or 'sync'"):
        await runner.run("careless", Session(), "hi")


async def test_input_key_option_names_the_messages_channel(runner: Runner) -> None:
    class Chat(TypedDict):
        chat: Annotated[list[BaseMessage], add_messages]

    model = FunctionChatModel(lambda messages: f"{len(messages)} in chat")

    def call(state: Chat) -> dict[str, list[BaseMessage]]:
        return {"chat": [model.invoke(state["chat"])]}

    builder = StateGraph(Chat)
    builder.add_node("model", call)
    builder.add_edge(START, "model")
    runner.register(builder.compile(), name="chatty", input_key="chat")
    session = Session()
    await runner.run("chatty", session, "one")
    turn = await runner.run("chatty", session, "two")
    assert turn.output == "3 in chat"


# ------------------------------------------------------------- shared objects
async def test_shared_graph_is_never_mutated_and_sessions_stay_apart(runner: Runner) -> None:
    seen: list[list[str]] = []
    graph = echo_graph(seen)
    before = (graph.checkpointer, graph.config, dict(graph.__dict__))
    sessions = [Session() for _ in range(5)]
    await asyncio.gather(*(runner.run(graph, s, f"I am user {i}") for i, s in enumerate(sessions)))
    turns = await asyncio.gather(*(runner.run(graph, s, "who?") for s in sessions))
    assert graph.checkpointer is None
    assert graph.config == before[1]
    assert {k: v for k, v in graph.__dict__.items()} == before[2]
    for turn in turns:
        assert turn.output == "heard 3: who?"
    second_calls = [t for t in seen if t[-1] == "who?"]
    assert sorted(t[0] for t in second_calls) == sorted(f"I am user {i}" for i in range(5))


async def test_checkpointer_compiled_into_the_graph_is_not_used(runner: Runner) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    own = InMemorySaver()
    builder = StateGraph(MessagesState)
    builder.add_node("model", lambda state: {"messages": [AIMessage(content=f"{len(state['messages'])}")]})
    builder.add_edge(START, "model")
    graph = builder.compile(checkpointer=own)
    compiled_in = graph.checkpointer  # `own`, or a copy sharing its storage in strict msgpack mode
    session = Session()
    await runner.run(graph, session, "one")
    assert (await runner.run(graph, session, "two")).output == "3"
    assert graph.checkpointer is compiled_in
    assert not own.storage  # the session held the memory, not the graph's own saver


async def test_graph_compiled_without_checkpointing_is_refused(runner: Runner) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("model", lambda state: {"messages": [AIMessage(content="hi")]})
    builder.add_edge(START, "model")
    with pytest.raises(AgentRunError, match="checkpointer=False"):
        await runner.run(builder.compile(checkpointer=False), Session(), "hi")


# ------------------------------------------------------------ stored data
async def test_namespace_holds_json_and_bytes_that_survive_a_reload(runner: Runner, store: InMemoryStore) -> None:
    session = Session()
    await runner.run(weather_agent(), session, "Weather in Lisbon?")
    stored = await Sessions(store).find(session.id)
    assert stored is not None
    exported = stored.to_dict()["state"]["langgraph"]
    json.dumps(exported)  # the stored form is plain JSON (bytes as base64)
    assert "pickle" not in json.dumps(exported)
    saver = NamespaceSaver(stored.namespace("langgraph"), thread_id=session.id, prefix="forecaster/")
    latest = saver.get_tuple({"configurable": {"thread_id": session.id}})
    assert latest is not None
    messages = latest.checkpoint["channel_values"]["messages"]
    assert [type(m).__name__ for m in messages] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert messages[1].tool_calls[0]["args"] == {"city": "Lisbon"}


class Opaque:
    """Not JSON, not a pydantic model: only pickle could store it."""

    __slots__ = ("secret",)

    def __init__(self) -> None:
        self.secret = 42


async def test_state_that_would_need_pickle_fails_the_turn(runner: Runner, store: InMemoryStore) -> None:
    class Box(TypedDict):
        messages: Annotated[list[BaseMessage], add_messages]
        thing: Any

    builder = StateGraph(Box)
    builder.add_node("keep", lambda state: {"thing": Opaque(), "messages": [AIMessage(content="kept")]})
    builder.add_edge(START, "keep")
    session = Session()
    with pytest.raises(AgentRunError) as caught:
        await runner.run(builder.compile(), session, "store this")
    assert caught.value.turn.status == "error"
    assert "without pickle" in str(caught.value)
    assert "'thing'" in str(caught.value)
    stored = await Sessions(store).find(session.id)
    assert stored is not None
    assert not stored.namespace("langgraph")


# ------------------------------------------------------------ cross-framework
async def test_graph_sees_turns_of_other_agents_once(runner: Runner) -> None:
    seen: list[list[str]] = []
    graph = echo_graph(seen)
    session = Session()
    teller = ScriptedAgent("teller", replies=["Noted."])
    await runner.run(teller, session, "Remember: the vault code is 9931")
    await runner.run(graph, session, "What is the vault code?")
    assert seen[-1] == ["Remember: the vault code is 9931", "Noted.", "What is the vault code?"]
    await runner.run(graph, session, "Again?")
    assert seen[-1][-3:] == ["What is the vault code?", "heard 3: What is the vault code?", "Again?"]
    assert seen[-1].count("Remember: the vault code is 9931") == 1  # not fed twice
    await runner.run(teller, session, "Remember: the door is red")
    await runner.run(graph, session, "And now?")
    assert seen[-1][-3:] == ["Remember: the door is red", "Noted.", "And now?"]
    assert len(seen[-1]) == 9


async def test_messages_fed_from_other_agents_are_not_streamed_as_deltas(runner: Runner) -> None:
    session = Session()
    await runner.run(ScriptedAgent("teller", replies=["Noted."]), session, "Remember: x")
    events = [e async for e in runner.stream(echo_graph(), session, "q")]
    assert [e.text for e in events if e.type == "delta"] == ["heard 3: q"]


async def test_agent_limited_to_its_own_history_does_not_see_others(runner: Runner) -> None:
    seen: list[list[str]] = []
    runner.register(echo_graph(seen), name="private", history="own")
    session = Session()
    await runner.run(ScriptedAgent("teller", replies=["Noted."]), session, "Remember: secret")
    await runner.run("private", session, "Anything?")
    assert seen[-1] == ["Anything?"]


# ------------------------------------------------------------------ streaming
async def test_streaming_yields_token_deltas_steps_and_the_turn(runner: Runner) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there streaming world")]))

    def call(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call)
    builder.add_edge(START, "model")
    events = [e async for e in runner.stream(builder.compile(), Session(), "hi")]
    kinds = [e.type for e in events]
    deltas = [e.text for e in events if e.type == "delta"]
    assert len(deltas) > 1  # token by token, not one block
    assert "".join(deltas) == "hello there streaming world"
    assert kinds.index("step") > kinds.index("delta")
    assert kinds[-1] == "turn"
    turn = events[-1].turn
    assert turn is not None
    assert turn.output == "hello there streaming world"
    assert [s.kind for s in turn.steps] == ["model_call"]


async def test_stream_of_a_tool_agent_has_step_events_in_order(runner: Runner) -> None:
    events = [e async for e in runner.stream(weather_agent(), Session(), "Weather?")]
    steps = [e.step.kind for e in events if e.type == "step" and e.step is not None]
    assert steps == ["model_call", "tool_call", "model_call"]
    assert "".join(e.text for e in events if e.type == "delta") == "The forecast: sunny in Lisbon"


def test_public_api_is_pinned() -> None:
    import agentkernel_langgraph

    assert sorted(agentkernel_langgraph.__all__) == [
        "DEFAULT_KEEP",
        "GraphOptions",
        "LangGraphAdapter",
        "NamespaceSaver",
        "safe_serializer",
    ]
    for name in agentkernel_langgraph.__all__:
        assert getattr(agentkernel_langgraph, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        agentkernel_langgraph.Nope  # noqa: B018


def test_entry_point_registers_the_adapter() -> None:
    from agentkernel.plugins import ADAPTER_GROUP, list_plugins, load_plugin

    info = next(p for p in list_plugins(ADAPTER_GROUP) if p.name == "langgraph")
    assert info.target == "agentkernel_langgraph:LangGraphAdapter"
    assert info.distribution == "agentkernel-langgraph"
    assert load_plugin(ADAPTER_GROUP, "langgraph") is LangGraphAdapter
