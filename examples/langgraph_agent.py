"""A LangGraph tool-calling agent that keeps its memory in an agentkernel session.

Run: ``python examples/langgraph_agent.py``. Offline by default: a scripted model plays the LLM.
With ``OPENAI_API_KEY`` set (and optionally ``OPENAI_BASE_URL`` for a local OpenAI-compatible
server, ``OPENAI_MODEL`` for the model name) it uses a real model through ``langchain-openai``
if that package is installed, and says so and stays scripted if it is not.

The graph is compiled once, without a checkpointer: the runner gives it one per run, backed by
the session's ``langgraph`` namespace, so the same graph object could serve many sessions.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import warnings
from typing import Any

from agentkernel_langgraph.testing import FunctionChatModel
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from agentkernel import Runner, Session


@tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    forecasts = {"lisbon": "sunny, 24 °C", "oslo": "snow, -3 °C"}
    return forecasts.get(city.lower(), "cloudy, 15 °C")


def scripted_reply(messages: list[BaseMessage]) -> str | AIMessage:
    """Plays the model: greets, calls the weather tool, and remembers the user's name."""
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return f"The weather there: {last.text}."
    said = last.text
    if match := re.search(r"weather in (\w+)", said, re.IGNORECASE):
        call = {"name": "get_weather", "args": {"city": match.group(1)}, "id": "call-1", "type": "tool_call"}
        return AIMessage(content="", tool_calls=[call])
    if match := re.search(r"my name is (\w+)", said, re.IGNORECASE):
        return f"Nice to meet you, {match.group(1)}."
    for earlier in messages:
        if isinstance(earlier, HumanMessage) and (match := re.search(r"my name is (\w+)", earlier.text, re.I)):
            return f"You told me your name is {match.group(1)}."
    return "I don't know yet."


def choose_model() -> BaseChatModel:
    """A real model when a key is set and langchain-openai is installed, else the scripted one."""
    if not os.environ.get("OPENAI_API_KEY"):
        print("(offline: scripted model; set OPENAI_API_KEY to use a real one)\n")
        return FunctionChatModel(scripted_reply, model_name="scripted")
    try:
        from langchain_openai import ChatOpenAI  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print(
            "OPENAI_API_KEY is set, but langchain-openai is not installed, so this example stays "
            "scripted; run `pip install langchain-openai` to use a real model.\n",
            file=sys.stderr,
        )
        return FunctionChatModel(scripted_reply, model_name="scripted")
    model_name = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    print(f"(using {model_name} at {os.environ.get('OPENAI_BASE_URL', 'api.openai.com')})\n")
    model: BaseChatModel = ChatOpenAI(model=model_name, base_url=os.environ.get("OPENAI_BASE_URL"))
    return model


def build_agent(model: BaseChatModel) -> Any:
    """The prebuilt ReAct agent of LangGraph 1.2 (``langchain.agents.create_agent`` supersedes it)."""
    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the move to langchain.agents; that package is not needed here
        return create_react_agent(model, [get_weather], name="forecaster")


async def main() -> None:
    agent = build_agent(choose_model())
    async with Runner() as runner:
        session = Session(id="langgraph-example")
        for prompt in ("Hi, my name is Ada.", "What's the weather in Lisbon?"):
            turn = await runner.run(agent, session, prompt)
            print(f"you> {prompt}\n{turn.agent}> {turn.output}")
            for step in turn.steps:
                detail = f" {step.arguments} -> {step.result!r}" if step.kind == "tool_call" else ""
                print(f"    [{step.kind}] {step.name}{detail}")

        prompt = "Do you remember my name?"
        print(f"you> {prompt}\nforecaster> ", end="")
        async for event in runner.stream(agent, session, prompt):
            if event.type == "delta":
                print(event.text, end="", flush=True)
        print()

        kept = sorted(key for key in session.namespace("langgraph") if "/ckpt/" in key)
        print(f"\nsession {session.id}: {session.turn_count} turns, {len(kept)} checkpoints kept in its namespace")


if __name__ == "__main__":
    asyncio.run(main())
