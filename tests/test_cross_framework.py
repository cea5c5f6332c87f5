"""Agents of three frameworks share one session, kept in a real Redis.

An OpenAI Agents SDK agent is told a fact, a LangGraph graph answers a question that needs it, and
a CrewAI crew summarises the conversation. Each framework runs for real with a scripted model that
records what it was given, so the test sees the fact reach every one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentkernel import Runner, Session
from agentkernel.settings import load_settings
from agentkernel.stores.base import SessionStore

pytestmark = pytest.mark.usefixtures("crewai_home")

FACT = "Remember: the launch code is 7-4-1."
Respond = Callable[[list[str]], str]


def openai_agent(respond: Respond) -> Any:
    from agentkernel_openai_agents.testing import FunctionModel
    from agents import Agent

    return Agent(name="intake", instructions="Take notes.", model=FunctionModel(respond))


def langgraph_agent(respond: Respond) -> Any:
    from agentkernel_langgraph.testing import text_graph

    return text_graph(respond, name="analyst")


def crewai_crew(respond: Respond) -> Any:
    from agentkernel_crewai.testing import one_agent_crew

    return one_agent_crew(respond, role="summariser", task="Summarise the conversation so far.")


def mentions(texts: list[str], needle: str) -> bool:
    return any(needle in text for text in texts)


async def test_three_frameworks_share_one_session_through_redis(redis_store: SessionStore) -> None:
    seen: dict[str, list[str]] = {}

    def intake(texts: list[str]) -> str:
        seen.setdefault("openai_agents", texts)
        return "Noted the launch code." if mentions(texts, "7-4-1") else "Nothing to note."

    def analyst(texts: list[str]) -> str:
        seen["langgraph"] = texts
        return "The launch code is 7-4-1." if mentions(texts, "7-4-1") else "I was never told."

    def summariser(texts: list[str]) -> str:
        seen["crewai"] = texts
        told = mentions(texts, FACT) and mentions(texts, "The launch code is 7-4-1.")
        return "Summary: the user gave code 7-4-1 and the analyst repeated it." if told else "Summary: unclear."

    runner = Runner(redis_store, settings=load_settings())
    runner.register(openai_agent(intake), name="intake")
    runner.register(langgraph_agent(analyst), name="analyst")
    runner.register(crewai_crew(summariser), name="summariser")
    session = Session(user_id="alice")

    noted = await runner.run("intake", session, FACT)
    answer = await runner.run("analyst", session, "What is the launch code?")
    summary = await runner.run("summariser", session, "Summarise the conversation so far.")

    assert noted.output == "Noted the launch code."
    assert mentions(seen["langgraph"], FACT), "the fact told to the OpenAI agent never reached LangGraph"
    assert answer.output == "The launch code is 7-4-1."
    assert mentions(seen["crewai"], FACT) and mentions(seen["crewai"], "The launch code is 7-4-1.")
    assert summary.output == "Summary: the user gave code 7-4-1 and the analyst repeated it."

    # Everything came through Redis: a new runner reading the same store sees it all.
    stored = await Runner(redis_store, settings=load_settings()).sessions.get(session.id, user_id="alice")
    assert [(t.agent, t.framework) for t in stored.turns] == [
        ("intake", "openai_agents"),
        ("analyst", "langgraph"),
        ("summariser", "crewai"),
    ]
    for framework in ("openai_agents", "langgraph", "crewai"):
        assert stored.namespace(framework), f"{framework} kept no state of its own"

    # Back to the first framework: it now sees what the other two said, once.
    seen.pop("openai_agents")
    await runner.run("intake", session, "Anything new?")
    later = seen["openai_agents"]
    assert mentions(later, "The launch code is 7-4-1.") and mentions(later, "Summary: the user gave code")
    assert sum(FACT in text for text in later) == 1


async def test_an_agent_limited_to_its_own_turns_does_not_see_the_others(redis_store: SessionStore) -> None:
    seen: dict[str, list[str]] = {}

    def analyst(texts: list[str]) -> str:
        seen["langgraph"] = texts
        return "I was never told." if not mentions(texts, "7-4-1") else "7-4-1"

    runner = Runner(redis_store, settings=load_settings())
    runner.register(openai_agent(lambda texts: "Noted."), name="intake")
    runner.register(langgraph_agent(analyst), name="analyst", history="own")
    session = Session()
    await runner.run("intake", session, FACT)
    answer = await runner.run("analyst", session, "What is the launch code?")
    assert answer.output == "I was never told."
    assert not mentions(seen["langgraph"], "7-4-1")
