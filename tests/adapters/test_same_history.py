"""One mixed transcript, three frameworks: each sees the same conversation of earlier turns.

The transcript holds ok turns, a turn with tool calls (one failed) and their results, a handoff,
an interrupted turn, an error turn and a system prompt, by agents of different frameworks. A new
agent of each framework runs on it with a scripted model that keeps exactly what its framework
handed the model; each is turned back into (role, text) and (call, tool, arguments) tuples and
compared with the kernel's rule (agentkernel.history).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkernel import Runner, Session
from agentkernel.history import history_messages
from agentkernel.settings import load_settings
from agentkernel.stores.memory import InMemoryStore
from agentkernel.transcript import Message, Step, Turn, TurnError

pytestmark = pytest.mark.usefixtures("crewai_home")

PROMPT = "What happened so far?"
Seen = list[tuple[str, ...]]


def mixed_transcript() -> list[Turn]:
    def user(text: str) -> list[Message]:
        return [Message(role="user", content=text)]

    return [
        Turn(id="t0", agent="intake", framework="openai_agents", input=user("My order 42 is late."),
             output="Sorry to hear that."),
        Turn(id="t1", agent="tracker", framework="langgraph", input=user("Where is order 42?"),
             steps=[Step(kind="model_call", name="m", result=""),
                    Step(kind="tool_call", name="track", arguments={"order": 42}, result={"status": "shipped"}),
                    Step(kind="tool_call", name="eta", arguments={"order": 42}, error="timeout")],
             output="It shipped; no ETA yet."),
        Turn(id="t2", agent="triage", framework="openai_agents", input=user("I want a refund."),
             steps=[Step(kind="handoff", agent="triage", name="billing")], output="Billing here: refund started."),
        Turn(id="t3", agent="approver", framework="langgraph", input=user("Refund 30 dollars?"),
             steps=[Step(kind="interrupt", name="approver", result="Approve the refund of 30 dollars?")],
             status="interrupted", output="Approve the refund of 30 dollars?"),
        Turn(id="t4", agent="crew", framework="crewai", input=user("yes"), status="error",
             error=TurnError(type="RuntimeError", message="boom")),
        Turn(id="t5", agent="notes", framework="scripted",
             input=[Message(role="system", content="Be brief."), Message(role="user", content="Thanks!")],
             output="You are welcome."),
    ]


def expected() -> Seen:
    out: Seen = []
    for message in [*history_messages(mixed_transcript()), Message(role="user", content=PROMPT)]:
        if message.content or not message.tool_calls:
            out.append((message.role, message.content))
        for call in message.tool_calls or []:
            out.append(("call", call.name, json.dumps(call.arguments, sort_keys=True)))
    return out


# ------------------------------------------------------------------ LangGraph


def langgraph_probe(received: list[Any]) -> Any:
    from agentkernel_langgraph.testing import FunctionChatModel
    from langchain_core.messages import BaseMessage
    from langgraph.graph import START, MessagesState, StateGraph

    def reply(messages: list[BaseMessage]) -> str:
        received.extend(messages)
        return "ok"

    model = FunctionChatModel(reply)

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_edge(START, "model")
    return builder.compile(name="lg_probe")


def from_langchain(messages: list[Any]) -> Seen:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    out: Seen = []
    pending: list[str] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            assert pending and pending.pop(0) == message.tool_call_id, "a ToolMessage that answers no open call"
            out.append(("tool", message.text))
            continue
        assert not pending, "a tool call not followed by its result"
        if isinstance(message, AIMessage):
            if message.text or not message.tool_calls:
                out.append(("assistant", message.text))
            for call in message.tool_calls:
                out.append(("call", call["name"], json.dumps(call["args"], sort_keys=True)))
                pending.append(str(call["id"]))
        elif isinstance(message, HumanMessage):
            out.append(("user", message.text))
        else:
            out.append((message.type, message.text))
    assert not pending
    return out


# ------------------------------------------------------------- OpenAI Agents


def openai_probe(received: list[Any]) -> Any:
    from agentkernel_openai_agents.testing import FunctionModel
    from agents import Agent

    class Recording(FunctionModel):
        async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> Any:
            received.extend(input)
            return await super().get_response(system_instructions, input, *args, **kwargs)

    return Agent(name="oa_probe", model=Recording(lambda texts: "ok"))


def from_openai_items(items: list[Any]) -> Seen:
    out: Seen = []
    pending: list[str] = []
    for raw in items:
        item = dict(raw)
        kind = item.get("type", "message")
        if kind == "function_call_output":
            assert pending and pending.pop(0) == item["call_id"], "an output that answers no open call"
            out.append(("tool", str(item["output"])))
            continue
        if kind == "function_call":
            out.append(("call", item["name"], json.dumps(json.loads(item["arguments"]), sort_keys=True)))
            pending.append(item["call_id"])
            continue
        assert not pending, "a function_call not followed by its output"
        content = item["content"]
        text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
        out.append((item["role"], text))
    assert not pending
    return out


# ------------------------------------------------------------------- CrewAI


def crewai_probe(received: list[Any]) -> Any:
    from agentkernel_crewai.testing import ScriptedLLM
    from crewai import Agent

    class Recording(ScriptedLLM):
        def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            received.append(messages)
            return super().call(messages, *args, **kwargs)

    return Agent(role="crew_probe", goal="Help.", backstory="Careful.", llm=Recording(lambda texts: "ok"),
                 max_retry_limit=0)


def from_crewai_prompt(messages: Any) -> Seen:
    text = "\n".join(m["content"] if isinstance(m, dict) else str(m) for m in messages)
    out: Seen = []
    for line in text.splitlines():
        for speaker, role in (("User: ", "user"), ("Assistant: ", "assistant"), ("Tool: ", "tool")):
            if line.startswith(speaker):
                body = line[len(speaker):]
                if role == "assistant" and body.startswith("[called "):
                    name, arguments = body[len("[called "):-1].split(" ", 1)
                    out.append(("call", name, json.dumps(json.loads(arguments), sort_keys=True)))
                else:
                    out.append((role, body))
    return out


async def test_three_frameworks_see_the_same_earlier_turns() -> None:
    store = InMemoryStore()
    runner = Runner(store, settings=load_settings())
    session = Session()
    for turn in mixed_transcript():
        session.append_turn(turn)
    await runner.sessions.save(session)

    lg: list[Any] = []
    oa: list[Any] = []
    crew: list[Any] = []
    await runner.run(langgraph_probe(lg), session.id, PROMPT)
    await runner.run(openai_probe(oa), session.id, PROMPT)
    await runner.run(crewai_probe(crew), session.id, PROMPT)

    want = expected()
    # The earlier turns come out whole in the three, in the same order: only the new turns differ.
    n = len(want)
    assert from_langchain(lg)[:n] == want
    assert from_openai_items(oa)[:n] == want
    assert from_crewai_prompt(crew[0])[:n] == want
    assert ("tool", '{"status": "shipped"}') in want and ("tool", "error: timeout") in want
    assert ("assistant", "[this turn failed (RuntimeError); no answer was given]") in want
    assert ("assistant", "Approve the refund of 30 dollars?") in want
    assert ("assistant", "[triage handed off to billing]") in want
    assert ("system", "Be brief.") not in want
