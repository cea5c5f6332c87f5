"""An OpenAI Agents SDK agent with a tool, run for three turns in one agentkernel session.

Run: ``python examples/openai_agent.py``. With no ``OPENAI_API_KEY`` it runs offline with a
scripted model. With ``OPENAI_API_KEY`` set it uses a real model (``OPENAI_MODEL``, default
``gpt-4o-mini``); add ``OPENAI_BASE_URL`` to use a local OpenAI-compatible server (it is called
through the Chat Completions API). Tracing stays off either way: register the agent with
``tracing=True`` to turn it on.
"""

from __future__ import annotations

import asyncio
import os
import re

from agentkernel_openai_agents.testing import FunctionModel, ModelReply
from agents import Agent, Model, OpenAIChatCompletionsModel, function_tool
from agents.testing import function_call

from agentkernel import Runner, Session

PROMPTS = ("Hi, I'm Ada.", "What's the weather in Lisbon?", "What's my name?")


@function_tool
def get_weather(city: str) -> str:
    """Today's weather in a city."""
    return f"sunny and 24 C in {city}"


def offline_reply(texts: list[str]) -> ModelReply:
    """The scripted model: calls the tool for weather questions and remembers names."""
    last = texts[-1]
    if last.startswith("sunny"):
        return f"It is {last}."
    asked = re.search(r"weather in (\w+)", last)
    if asked:
        return [function_call("get_weather", {"city": asked.group(1)}, call_id=f"call_{len(texts)}")]
    if "my name" in last:
        names = [m.group(1) for t in texts if (m := re.search(r"I'm (\w+)", t))]
        return f"You are {names[0]}." if names else "You have not told me."
    return "Nice to meet you!"


def pick_model() -> Model | str:
    """A real model when OPENAI_API_KEY is set, the scripted one otherwise."""
    if not os.environ.get("OPENAI_API_KEY"):
        return FunctionModel(offline_reply, name="scripted")
    name = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    base_url = os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        return name
    from openai import AsyncOpenAI

    return OpenAIChatCompletionsModel(model=name, openai_client=AsyncOpenAI(base_url=base_url))


async def main() -> None:
    agent = Agent(
        name="assistant",
        instructions="You are a friendly assistant. Use the weather tool for weather questions.",
        model=pick_model(),
        tools=[get_weather],
    )
    async with Runner() as runner:
        session = Session(id="openai-example")
        for prompt in PROMPTS:
            turn = await runner.run(agent, session, prompt)
            print(f"you> {prompt}\n{turn.agent}> {turn.output}")
        print(f"\ntranscript of {session.id} (version {session.version}):")
        for turn in session.turns:
            print(f"  #{turn.index} {turn.prompt!r} -> {turn.output!r}")
            for step in turn.steps:
                detail = f" {step.arguments} -> {step.result!r}" if step.kind == "tool_call" else ""
                tokens = f" ({step.usage.total_tokens} tokens)" if step.usage else ""
                print(f"      {step.kind} {step.name}{detail}{tokens}")


if __name__ == "__main__":
    asyncio.run(main())
