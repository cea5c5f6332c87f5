"""The CrewAI adapter: the adapter contract, plus what is particular to crews.

CrewAI writes into the home directory when it is imported and when it runs (its credentials key,
its settings folder, a SQLite file of the latest kickoff's task outputs), so every test here runs
with ``HOME`` and ``XDG_DATA_HOME`` pointed at temporary folders, and crewai is imported only then.
``test_runs_write_nothing_into_home`` checks the adapter's own share of that in a fresh process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from agentkernel_crewai import CREWAI_DEFAULTS, CrewAIAdapter, environment, quiet_crewai

from agentkernel.errors import AgentRunError
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.settings import load_settings
from agentkernel.stores.base import SessionStore
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import AdapterContract, AgentMaker, Respond
from tests.examples import run_example

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("crewai_home")


@pytest.fixture
def crewai() -> ModuleType:
    import crewai

    return crewai


def scripted_llm(respond: Respond) -> Any:
    from agentkernel_crewai.testing import ScriptedLLM

    return ScriptedLLM(respond)


def one_agent_crew(respond: Respond, **agent_options: Any) -> Any:
    from agentkernel_crewai.testing import one_agent_crew as build

    return build(respond, **agent_options)


def reject_runner(store: InMemoryStore | None = None) -> Runner:
    return Runner(store or InMemoryStore(), settings=load_settings(runner={"busy": "reject"}))


class TestCrewAIAdapter(AdapterContract):
    """The whole adapter contract, with a one-agent crew driven by a scripted model."""

    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        return one_agent_crew


class TestCrewAIAdapterOnRedis(TestCrewAIAdapter):
    """The same contract with every session kept in a real Redis (main environment only)."""

    @pytest.fixture
    async def store(self, redis_store: SessionStore) -> SessionStore:
        return redis_store


class TestSingleAgent(AdapterContract):
    """The contract again, with a bare ``crewai.Agent`` that the adapter wraps in a crew."""

    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        def make(respond: Respond) -> Any:
            from crewai import Agent

            return Agent(role="helper", goal="Help.", backstory="Kind.", llm=scripted_llm(respond), max_retry_limit=0)

        return make


def test_recognizes_crews_and_agents_only(crewai: ModuleType) -> None:
    adapter = CrewAIAdapter()
    crew = one_agent_crew(lambda texts: "hi")
    assert adapter.recognizes(crew)
    assert adapter.recognizes(crew.agents[0])
    assert not adapter.recognizes(crew.tasks[0])
    assert not adapter.recognizes(object())
    assert adapter.agent_name(crew) == "crew"
    assert adapter.agent_name(crew.agents[0]) == "helper"


async def test_the_runner_picks_the_adapter_by_entry_point() -> None:
    turn = await reject_runner().run(one_agent_crew(lambda texts: "hello"), Session(), "hi")
    assert turn.framework == "crewai"
    assert turn.output == "hello"


async def test_two_tasks_become_two_task_steps(crewai: ModuleType) -> None:
    seen: list[list[str]] = []

    def respond(texts: list[str]) -> str:
        seen.append(texts)
        return f"answer {len(seen)}"

    writer = crewai.Agent(role="writer", goal="Write.", backstory="Writes.", llm=scripted_llm(respond))
    editor = crewai.Agent(role="editor", goal="Edit.", backstory="Edits.", llm=scripted_llm(respond))
    crew = crewai.Crew(
        agents=[writer, editor],
        tasks=[
            crewai.Task(
                name="draft", description="Draft a reply to {prompt}.", expected_output="A draft.", agent=writer
            ),
            crewai.Task(name="edit", description="Edit the draft.", expected_output="The reply.", agent=editor),
        ],
    )
    session = Session()
    turn = await reject_runner().run(crew, session, "Say hi")
    assert turn.output == "answer 2"
    assert [(s.kind, s.name, s.agent, s.result) for s in turn.steps] == [
        ("task", "draft", "writer", "answer 1"),
        ("task", "edit", "editor", "answer 2"),
    ]
    assert "Draft a reply to Say hi." in seen[0][1]  # the {prompt} input reached the task
    assert "answer 1" in seen[1][1]  # the second task saw the first one's output
    assert turn.usage is not None
    assert turn.usage.requests == 2
    assert turn.usage.output_tokens == 4
    [record] = session.namespace("crewai")["runs"]
    assert record["output"] == "answer 2"
    assert [t["name"] for t in record["tasks"]] == ["draft", "edit"]


async def test_usage_is_per_run_not_cumulative() -> None:
    crew = one_agent_crew(lambda texts: "one two three")
    runner = reject_runner()
    first = await runner.run(crew, Session(), "hi")
    second = await runner.run(crew, Session(), "hi")
    assert first.usage is not None
    assert second.usage is not None
    assert first.usage.requests == second.usage.requests == 1
    assert first.usage.output_tokens == second.usage.output_tokens == 3


async def test_concurrent_sessions_on_one_crew_stay_separate() -> None:
    def respond(texts: list[str]) -> str:
        return " | ".join(sorted({t for t in texts if t.startswith("I am")}))

    crew = one_agent_crew(respond)
    runner = reject_runner()
    sessions = [Session() for _ in range(4)]
    await asyncio.gather(*(runner.run(crew, s, f"I am {i}") for i, s in enumerate(sessions)))
    turns = await asyncio.gather(*(runner.run(crew, s, "Who?") for s in sessions))
    assert [t.output for t in turns] == [f"I am {i}" for i in range(4)]
    # The shared crew was never run or changed: its task has no output, its agent no executor.
    assert crew.tasks[0].output is None
    assert crew.tasks[0].description == "Answer the user."


async def test_history_from_other_frameworks_reaches_the_crew() -> None:
    from agentkernel.testing import ScriptedAgent

    runner = reject_runner()
    session = Session()
    await runner.run(ScriptedAgent("scout", replies=["The password is swordfish."]), session, "Find it.")
    seen: list[str] = []

    def respond(texts: list[str]) -> str:
        seen.extend(texts)
        return "summary"

    await runner.run(one_agent_crew(respond), session, "Summarise.")
    assert "The password is swordfish." in seen
    assert "Find it." in seen
    assert "Summarise." in seen


async def test_a_task_callback_of_the_crew_still_runs(crewai: ModuleType) -> None:
    called: list[str] = []
    crew = one_agent_crew(lambda texts: "done")
    crew.task_callback = lambda output: called.append(output.raw)
    turn = await reject_runner().run(crew, Session(), "go")
    assert called == ["done"]
    assert [s.result for s in turn.steps] == ["done"]


async def test_error_of_the_model_comes_out_once_with_no_retry_loop() -> None:
    calls: list[int] = []

    def explode(texts: list[str]) -> str:
        calls.append(1)
        raise ValueError("boom")

    with pytest.raises(AgentRunError, match="boom"):
        await reject_runner().run(one_agent_crew(explode), Session(), "go")
    assert len(calls) == 1


async def test_keep_runs_bounds_the_record() -> None:
    runner = reject_runner()
    runner.register(one_agent_crew(lambda texts: "ok"), name="bounded", keep_runs=2)
    session = Session()
    for prompt in ("a", "b", "c"):
        await runner.run("bounded", session, prompt)
    assert [r["prompt"] for r in session.namespace("crewai")["runs"]] == ["b", "c"]


async def test_inputs_option_fills_task_placeholders(crewai: ModuleType) -> None:
    seen: list[str] = []

    def respond(texts: list[str]) -> str:
        seen.extend(texts)
        return "ok"

    agent = crewai.Agent(role="r", goal="g", backstory="b", llm=scripted_llm(respond))
    crew = crewai.Crew(
        agents=[agent], tasks=[crewai.Task(description="Write about {topic}.", expected_output="x", agent=agent)]
    )
    runner = reject_runner()
    runner.register(crew, name="writer", inputs={"topic": "otters"})
    await runner.run("writer", Session(), "go")
    assert any("Write about otters." in t for t in seen)


def test_quiet_crewai_sets_defaults_but_keeps_the_users_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREWAI_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREWAI_DISABLE_TELEMETRY", "false")
    monkeypatch.setattr(environment, "_done", False)
    quiet_crewai()
    assert os.environ["CREWAI_DISABLE_TELEMETRY"] == "false"
    assert os.environ["CREWAI_TRACING_ENABLED"] == "false"
    assert os.environ["CREWAI_TESTING"] == "true"


async def test_the_adapter_turns_telemetry_off_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from crewai.telemetry import Telemetry

    for name in (*CREWAI_DEFAULTS, "CREWAI_DISABLE_TRACKING", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(environment, "_done", False)
    assert not Telemetry._is_telemetry_disabled()
    await reject_runner().run(one_agent_crew(lambda texts: "ok"), Session(), "hi")
    assert Telemetry._is_telemetry_disabled()
    assert {name: os.environ[name] for name in CREWAI_DEFAULTS} == CREWAI_DEFAULTS


def test_run_copies_have_tracing_off_unless_asked_for() -> None:
    from agentkernel_crewai.crews import build_crew

    crew = one_agent_crew(lambda texts: "ok")
    assert build_crew(crew, tracing=None, on_task=print).tracing is False
    assert build_crew(crew, tracing=True, on_task=print).tracing is True
    assert build_crew(crew.agents[0], tracing=None, on_task=print).tracing is False
    crew.tracing = True
    assert build_crew(crew, tracing=None, on_task=print).tracing is True


def test_importing_the_adapter_and_recognizing_other_objects_imports_no_crewai() -> None:
    code = (
        "import sys\n"
        "from agentkernel_crewai import CrewAIAdapter\n"
        "assert not CrewAIAdapter().recognizes(object())\n"
        "assert not CrewAIAdapter().recognizes('crew')\n"
        "print('crewai' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_scripted_llm_hands_conversation_lines_to_respond() -> None:
    from agentkernel_crewai.testing import message_texts

    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Task\nUser: hi\nAssistant: yo"}]
    texts = message_texts(messages)
    assert texts == ["sys", "Task\nUser: hi\nAssistant: yo", "hi", "yo"]


RUN_IN_EMPTY_HOME = """
import asyncio, sys
from pathlib import Path

from agentkernel_crewai import quiet_crewai
quiet_crewai()  # as documented: before crewai is imported
import crewai
from crewai.telemetry import Telemetry
from agentkernel import Runner, Session
from agentkernel.stores.base import SessionStore
from agentkernel.stores.memory import InMemoryStore
from agentkernel_crewai.testing import ScriptedLLM

agent = crewai.Agent(role="r", goal="g", backstory="b", llm=ScriptedLLM(lambda texts: "ok"))
crew = crewai.Crew(agents=[agent], tasks=[crewai.Task(description="d", expected_output="e", agent=agent)])

async def main():
    runner = Runner(InMemoryStore())
    session = Session()
    for prompt in ("one", "two"):
        await runner.run(crew, session, prompt)
    await runner.run(agent, session, "three")

asyncio.run(main())
print("telemetry-disabled", Telemetry._is_telemetry_disabled())
"""

# What crewai itself writes under $HOME whatever the adapter does: its CLI settings folder
# (~/.config/crewai, made on import) and the key of its credentials store, made on import and on
# every crew start (crewai 1.6.1 checks for a CrewAI+ login even with tracing off). Both are
# hard-wired to the home directory, so tests point HOME at a temporary folder.
CREWAI_OWN = (".config/crewai", ".local/share/crewai/credentials")


def run_in_home(code: str, *, home: Path, data: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose HOME and XDG data folder are ``home`` and ``data``."""
    env = {k: v for k, v in os.environ.items() if k not in CREWAI_DEFAULTS and not k.startswith("XDG_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(data), PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_runs_write_nothing_else_into_home_and_telemetry_is_off(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    done = run_in_home(RUN_IN_EMPTY_HOME, home=home, data=data, cwd=tmp_path)
    assert "telemetry-disabled True" in done.stdout
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert all(path.startswith(CREWAI_OWN) for path in written), written
    # crewai's per-project storage (the latest kickoff's task outputs) went to the data dir.
    assert list(data.rglob("latest_kickoff_task_outputs.db")), sorted(data.rglob("*"))
    assert "Trac" not in done.stdout, done.stdout  # no trace prompt, no tracing notice


async def test_a_streaming_crew_runs_with_task_steps_and_is_left_unchanged() -> None:
    crew = one_agent_crew(lambda texts: "streamed answer")
    crew.stream = True
    events = [e async for e in reject_runner().stream(crew, Session(), "go")]
    assert [e.type for e in events] == ["step", "turn"]
    assert events[-1].turn is not None
    assert events[-1].turn.output == "streamed answer"
    assert crew.stream is True


def test_the_example_runs_offline(tmp_path: Path) -> None:
    done = run_example("crewai_agent.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "concierge> Hello! What should I call you?" in done.stdout
    assert "concierge> Of course, Ada. What shall we plan?" in done.stdout
    assert "crew record: 2 runs kept" in done.stdout


async def test_each_task_is_streamed_as_it_finishes(crewai: ModuleType) -> None:
    first_step_seen = threading.Event()
    calls: list[int] = []

    def respond(texts: list[str]) -> str:
        calls.append(1)
        if len(calls) == 1:
            return "one"
        # The second task answers only once the consumer has the first task's step.
        return "two" if first_step_seen.wait(timeout=60) else "the first step was not streamed in time"

    member = crewai.Agent(role="r", goal="g", backstory="b", llm=scripted_llm(respond))
    crew = crewai.Crew(
        agents=[member],
        tasks=[crewai.Task(description=f"Step {n}.", expected_output="x", agent=member) for n in (1, 2)],
    )
    events = []
    async for event in reject_runner().stream(crew, Session(), "go"):
        events.append(event)
        if event.type == "step":
            first_step_seen.set()
    assert [e.type for e in events] == ["step", "step", "turn"]
    assert events[-1].turn is not None
    assert events[-1].turn.output == "two"


def test_public_api() -> None:
    import agentkernel_crewai
    import agentkernel_crewai.testing

    assert sorted(agentkernel_crewai.__all__) == [
        "AGENT_TASK",
        "CREWAI_DEFAULTS",
        "CrewAIAdapter",
        "DEFAULT_KEEP_RUNS",
        "quiet_crewai",
    ]
    assert sorted(agentkernel_crewai.testing.__all__) == ["ScriptedLLM", "message_texts", "one_agent_crew"]
