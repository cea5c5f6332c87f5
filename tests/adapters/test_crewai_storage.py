"""CrewAI keeps no conversation text outside the session store under the kernel.

A ``Crew`` records each kickoff's task outputs (their descriptions carry the conversation) in
``latest_kickoff_task_outputs.db`` under ``~/.local/share/<folder>/``; under the kernel that record
stays in memory, so deleting a session deletes the conversation.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.stores.memory import InMemoryStore
from tests.adapters.test_crewai import run_in_home

pytestmark = pytest.mark.usefixtures("crewai_home")

MARKER = "zebra-7f3c"

RUNS = f"""
import asyncio
from agentkernel_crewai import quiet_crewai
quiet_crewai()
import crewai
from agentkernel import Runner, Session
from agentkernel.stores.memory import InMemoryStore
from agentkernel_crewai.testing import ScriptedLLM

llm = ScriptedLLM(lambda texts: "noted: {MARKER}-answer")
agent = crewai.Agent(role="r", goal="g", backstory="b", llm=llm)
crew = crewai.Crew(agents=[agent], tasks=[crewai.Task(description="d", expected_output="e", agent=agent)])

async def main():
    runner = Runner(InMemoryStore())
    session = Session()
    await runner.run(crew, session, "my secret is {MARKER}-one")
    await runner.run(crew, session, "and {MARKER}-two")
    await runner.run(agent, session, "and {MARKER}-three")
    await runner.sessions.delete(session.id)
    print("deleted", await runner.sessions.find(session.id) is None)

asyncio.run(main())
"""


def kickoff_rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM latest_kickoff_task_outputs").fetchone()
    return int(count)


def test_no_conversation_text_is_left_under_home_after_a_deleted_session(tmp_path: Path) -> None:
    home, data, work = tmp_path / "home", tmp_path / "data", tmp_path / "project"
    for folder in (home, work):
        folder.mkdir()
    done = run_in_home(RUNS, home=home, data=data, cwd=work)
    assert "deleted True" in done.stdout
    holding = [p for p in tmp_path.rglob("*") if p.is_file() and MARKER.encode() in p.read_bytes()]
    assert holding == [], f"conversation text kept outside the session store: {holding}"
    for database in tmp_path.rglob("latest_kickoff_task_outputs.db"):
        assert kickoff_rows(database) == 0, database


async def test_the_users_crew_keeps_its_own_record_handler() -> None:
    from agentkernel_crewai.testing import one_agent_crew
    from crewai.utilities.task_output_storage_handler import TaskOutputStorageHandler

    crew: Any = one_agent_crew(lambda texts: "fine")
    own = crew._task_output_handler
    await Runner(InMemoryStore()).run(crew, Session(), "hello")
    assert crew._task_output_handler is own
    assert type(own) is TaskOutputStorageHandler
