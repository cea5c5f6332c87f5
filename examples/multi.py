"""Three frameworks, one conversation: an OpenAI Agents SDK agent takes a note, a LangGraph graph
answers from it, and a CrewAI crew summarises, all in one agentkernel session.

Run: ``python examples/multi.py`` (offline, scripted models), or chat with the three agents:
``agentkernel chat examples/multi.py``. With ``OPENAI_API_KEY`` set every agent uses a real model
(``OPENAI_MODEL``, default ``gpt-4o-mini``; ``OPENAI_BASE_URL`` for a local OpenAI-compatible
server). Add ``AK_SESSION__TYPE=redis`` to keep the conversation in Redis.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

from agentkernel_crewai import quiet_crewai

quiet_crewai()  # before crewai is imported: no telemetry, no trace prompt

from agentkernel_crewai.testing import ScriptedLLM  # noqa: E402
from agentkernel_langgraph.testing import FunctionChatModel  # noqa: E402
from agentkernel_openai_agents.testing import FunctionModel  # noqa: E402
from agents import Agent  # noqa: E402
from crewai import LLM, Crew, Task  # noqa: E402
from crewai import Agent as CrewAgent  # noqa: E402
from langchain_core.messages import BaseMessage  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402

from agentkernel import AgentRegistry, Runner, Session  # noqa: E402

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
ONLINE = bool(os.environ.get("OPENAI_API_KEY"))
CONVERSATION = (
    ("intake", "Please note: my flight to Lisbon leaves at 09:40 from gate B12."),
    ("analyst", "When and where do I board?"),
    ("summariser", "Summarise our conversation in one sentence."),
)


# ----------------------------------------------------------------- offline models
def intake_offline(texts: list[str]) -> str:
    return "Noted." if "note" in texts[-1].lower() else "Tell me what to note."


def analyst_offline(texts: list[str]) -> str:
    found = [m for t in texts if (m := re.search(r"at (\d\d:\d\d) from gate (\w+)", t))]
    if not found:
        return "Nobody told me yet."
    time, gate = found[-1].groups()
    return f"You board at gate {gate}; the flight leaves at {time}."


def summariser_offline(texts: list[str]) -> str:
    said = " ".join(texts)
    gate = re.search(r"gate (\w+)", said)
    return f"Summary: flight noted, boarding at gate {gate.group(1)}." if gate else "Summary: nothing yet."


# ------------------------------------------------------------------- real models
def openai_chat(messages: list[BaseMessage]) -> str:
    """One Chat Completions call for the LangGraph node (no extra LangChain package needed)."""
    from openai import OpenAI

    roles = {"human": "user", "ai": "assistant", "system": "system"}
    chat: list[Any] = [{"role": roles.get(m.type, "user"), "content": m.text} for m in messages]
    reply = OpenAI(base_url=os.environ.get("OPENAI_BASE_URL")).chat.completions.create(model=MODEL, messages=chat)
    return reply.choices[0].message.content or ""


def intake_agent() -> Agent[Any]:
    model: Any = MODEL if ONLINE else FunctionModel(intake_offline, name="scripted")
    if ONLINE and os.environ.get("OPENAI_BASE_URL"):
        from agents import OpenAIChatCompletionsModel
        from openai import AsyncOpenAI

        model = OpenAIChatCompletionsModel(model=MODEL, openai_client=AsyncOpenAI())
    return Agent(name="intake", instructions="Acknowledge notes briefly.", model=model)


def analyst_graph() -> Any:
    model = FunctionChatModel(openai_chat if ONLINE else (lambda messages: analyst_offline([m.text for m in messages])))

    def answer(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    return graph.compile(name="analyst")


def summariser_crew() -> Crew:
    llm: Any = (
        LLM(model=MODEL, base_url=os.environ.get("OPENAI_BASE_URL")) if ONLINE else ScriptedLLM(summariser_offline)
    )
    agent = CrewAgent(role="summariser", goal="Summarise conversations.", backstory="Brief.", llm=llm)
    task = Task(description="Summarise the conversation so far.", expected_output="One sentence.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


agents = AgentRegistry()
agents.register(intake_agent(), name="intake", description="OpenAI Agents SDK: takes notes")
agents.register(analyst_graph(), name="analyst", description="LangGraph: answers from the conversation")
agents.register(summariser_crew(), name="summariser", description="CrewAI: summarises")


async def main() -> None:
    print(f"({'real model ' + MODEL if ONLINE else 'offline: scripted models'})\n")
    async with Runner(agents=agents) as runner:
        session = Session(id="multi-framework-example")
        for name, prompt in CONVERSATION:
            turn = await runner.run(name, session, prompt)
            print(f"you> {prompt}\n{turn.agent} [{turn.framework}]> {turn.output}\n")
        print(f"session {session.id}: {session.turn_count} turns, namespaces {sorted(session.namespaces())}")


if __name__ == "__main__":
    asyncio.run(main())
