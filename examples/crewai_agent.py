"""A CrewAI crew in an agentkernel session: two turns, then the transcript and the crew's record.

Run: ``python examples/crewai_agent.py``. With no ``OPENAI_API_KEY`` it runs offline on a scripted
model; with one it uses a real model through CrewAI's ``LLM`` (``OPENAI_MODEL``, default
``gpt-4o-mini``; ``OPENAI_BASE_URL`` for a local OpenAI-compatible server).
"""

from __future__ import annotations

import asyncio
import os

from agentkernel_crewai import quiet_crewai

quiet_crewai()  # before crewai is imported: no telemetry ping, no trace prompt

from agentkernel_crewai.testing import ScriptedLLM  # noqa: E402
from crewai import LLM, Agent, Crew, Task  # noqa: E402 - after quiet_crewai on purpose

from agentkernel import Runner, Session  # noqa: E402


def offline_model(texts: list[str]) -> str:
    """A scripted model: greets, then remembers the name it was told earlier in the session."""
    said = [text for text in texts if text.startswith("Call me ")]
    if said:
        return f"Of course, {said[0].removeprefix('Call me ').rstrip('.')}. What shall we plan?"
    return "Hello! What should I call you?"


def model() -> object:
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        return ScriptedLLM(offline_model)
    return LLM(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        api_key=key,
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
    )


def build_crew() -> Crew:
    host = Agent(
        role="host",
        goal="Greet the user and remember what they tell you.",
        backstory="A friendly concierge who keeps answers short.",
        llm=model(),
        max_retry_limit=1,
    )
    reply = Task(description="Reply to the user.", expected_output="A short, friendly reply.", agent=host)
    return Crew(name="concierge", agents=[host], tasks=[reply])


async def main() -> None:
    crew = build_crew()
    async with Runner() as runner:
        session = Session(id="crewai-example")
        for prompt in ("Hello!", "Call me Ada."):
            turn = await runner.run(crew, session, prompt)
            print(f"you> {prompt}\n{turn.agent}> {turn.output}")
        print(f"\ntranscript of {session.id} (version {session.version}):")
        for turn in session.turns:
            tasks = ", ".join(step.name for step in turn.steps if step.kind == "task")
            print(f"  #{turn.index} {turn.agent} [{turn.status}] tasks: {tasks}; usage: {turn.usage}")
        print(f"crew record: {len(session.namespace('crewai')['runs'])} runs kept")


if __name__ == "__main__":
    asyncio.run(main())
