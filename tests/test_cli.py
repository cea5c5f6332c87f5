"""The ``agentkernel`` command through a pipe and in-process: chat, run, sessions, store, plugins, serve.

The pseudo-terminal tests are in test_cli_pty.py; they share the helpers here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentkernel.cli import _app as cli
from agentkernel.cli import _support as cli_support
from agentkernel.runner import Runner
from agentkernel.sessions import Sessions
from agentkernel.settings import Settings
from agentkernel.stores.memory import InMemoryStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "assistant.py"
_SCRIPT = Path(sys.executable).parent / "agentkernel"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "agentkernel.cli"]
"""The installed console script (this checkout first on the path), or ``python -m agentkernel.cli``."""


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI process: this checkout importable, no AK_ leaking in, wide output."""
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("AK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["COLUMNS"] = "200"
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``agentkernel ARGS`` with ``stdin`` piped in; never raises on a non-zero status."""
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or cli_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr


SLOW_AND_BROKEN = """
from agentkernel.testing import ScriptedAgent

def boom(context):
    raise RuntimeError("the model is down")

agents = {"ok": ScriptedAgent("ok", replies=["fine"]), "broken": ScriptedAgent("broken", replies=[boom])}
"""


@pytest.fixture
def broken_module(tmp_path: Path) -> Path:
    path = tmp_path / "broken_agents.py"
    path.write_text(SLOW_AND_BROKEN)
    return path


# ------------------------------------------------------------- chat, piped
def test_piped_chat_prints_one_answer_per_line_and_nothing_else() -> None:
    result = run_cli("chat", str(EXAMPLE), stdin="my name is Ada\nwhat is my name?\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Nice to meet you, Ada! I will remember your name for the rest of this session.",
        "Your name is Ada.",
    ]
    assert result.stderr == ""


def test_piped_chat_commands() -> None:
    script = "my name is Ada\n!help\n!agents\n!agent historian\nwhat happened?\n!history\n!sessions\n!quit\nignored\n"
    result = run_cli("chat", str(EXAMPLE), stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for command in ("!agent NAME", "!agents", "!new", "!sessions", "!history", "!clear", "!quit"):
        assert command in out  # listed by !help
    assert "* historian" not in out  # !agents ran before switching
    assert "now talking to historian" in out
    assert "- you asked assistant: 'my name is Ada'" in out
    assert "#1 you -> historian: what happened?" in out  # !history
    assert " 2 turns " in out  # !sessions
    assert "ignored" not in out  # nothing after !quit


def test_piped_chat_new_and_clear_sessions() -> None:
    script = "my name is Ada\n!clear\n!history\nwhat is my name?\n!new\n!history\n"
    result = run_cli("chat", str(EXAMPLE), stdin=script)
    assert result.returncode == 0, result.stderr
    assert "no turns yet in this session" in result.stdout
    assert "I don't know your name yet" in result.stdout  # !clear dropped the shared state too
    assert "new session " in result.stdout


def test_piped_chat_with_a_failing_agent_exits_1_without_traceback(broken_module: Path) -> None:
    result = run_cli("chat", str(broken_module), "--agent", "broken", stdin="hi\n!agent ok\nhi\n")
    assert result.returncode == 1
    assert "error: agent 'broken' (scripted) failed: RuntimeError: the model is down" in result.stderr
    assert result.stdout.splitlines() == ["now talking to ok", "fine"]
    no_traceback(result)


def test_chat_errors_are_one_line_and_exit_non_zero(tmp_path: Path) -> None:
    missing = run_cli("chat", str(tmp_path / "nope.py"))
    assert missing.returncode == 2
    expected = f"error: no such file: {tmp_path / 'nope.py'} (give the path of a Python file that defines agents)"
    assert missing.stderr.strip() == expected
    (tmp_path / "raises.py").write_text("raise ValueError('bad config in my module')\n")
    raising = run_cli("chat", str(tmp_path / "raises.py"))
    assert raising.returncode == 2
    assert "ValueError: bad config in my module" in raising.stderr
    (tmp_path / "empty.py").write_text("x = 1\n")
    empty = run_cli("chat", str(tmp_path / "empty.py"))
    assert "no agents found" in empty.stderr
    unknown = run_cli("chat", str(EXAMPLE), "--agent", "nobody", stdin="hi\n")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no agent named 'nobody'; known agents: assistant, historian"
    for result in (missing, raising, empty, unknown):
        no_traceback(result)


def test_chat_needs_agents() -> None:
    result = run_cli("chat", stdin="hi\n")
    assert result.returncode == 2
    assert "agentkernel chat examples/assistant.py" in result.stderr


def test_settings_errors_name_the_variable() -> None:
    result = run_cli("run", str(EXAMPLE), "hi", env=cli_env(AK_SESSION__TYPE="nosuch"))
    assert result.returncode == 2
    assert "AK_SESSION__TYPE='nosuch' is not a known session store" in result.stderr
    no_traceback(result)


def test_chat_accepts_a_dotted_module(tmp_path: Path) -> None:
    (tmp_path / "mybots.py").write_text(
        "from agentkernel.testing import ScriptedAgent\nbot = ScriptedAgent('bot', replies=['beep'])\n"
    )
    result = run_cli("chat", "mybots", stdin="hi\n", cwd=tmp_path)  # module-level agent, no `agents`
    assert result.returncode == 0, result.stderr
    assert result.stdout == "beep\n"


# ----------------------------------------------------------------------- run
def test_run_prints_the_answer() -> None:
    result = run_cli("run", str(EXAMPLE), "call me Grace")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Nice to meet you, Grace! I will remember your name for the rest of this session.\n"


def test_run_json_prints_the_whole_turn() -> None:
    result = run_cli("run", "--json", "--agent", "historian", "--session", "s-1", str(EXAMPLE), "what happened?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["session_id"] == "s-1"
    assert data["turn"]["agent"] == "historian"
    assert data["turn"]["output"] == "Nothing has happened in this session yet."
    assert data["turn"]["status"] == "ok"
    assert data["turn"]["steps"][0]["kind"] == "model_call"


def test_run_failures_exit_non_zero_with_one_line(broken_module: Path) -> None:
    failed = run_cli("run", "--agent", "broken", str(broken_module), "hi")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith("error: agent 'broken' (scripted) failed: RuntimeError: the model is down")
    empty = run_cli("run", str(EXAMPLE), "  ")
    assert empty.returncode == 2
    assert "the prompt is empty" in empty.stderr
    bad_id = run_cli("run", "--session", "bad id", str(EXAMPLE), "hi")
    assert bad_id.returncode == 1
    assert "invalid session id 'bad id'" in bad_id.stderr
    for result in (failed, empty, bad_id):
        no_traceback(result)


def test_cli_main_in_a_file_of_agents(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), "run", "my name is Linus"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Nice to meet you, Linus!")
    chat = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        input="what is my name?\n",
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.startswith("I don't know your name yet")


def test_cli_main_finds_module_level_agents_and_takes_agents_directly(tmp_path: Path) -> None:
    script = tmp_path / "bots.py"
    script.write_text(
        "from agentkernel.cli import CLI\n"
        "from agentkernel.testing import ScriptedAgent\n"
        "bot = ScriptedAgent('bot', replies=['beep'])\n"
        "if __name__ == '__main__':\n"
        "    import sys\n"
        "    if sys.argv[1:] == ['direct']:\n"
        "        CLI.main([], agents={'other': ScriptedAgent('x', replies=['boop'])})\n"
        "    CLI.main()\n"
    )
    found = subprocess.run(
        [sys.executable, str(script)],
        input="hi\n",
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert found.stdout == "beep\n", found.stderr
    direct = subprocess.run(
        [sys.executable, str(script), "direct"],
        input="hi\n",
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        check=False,
    )
    assert direct.stdout == "boop\n", direct.stderr


# ------------------------------------------------------------------- plugins
def test_plugins_lists_adapters_and_stores_importing_nothing() -> None:
    probe = (
        "import sys\n"
        "from agentkernel.cli import CLI\n"
        "try:\n"
        "    CLI.main(['plugins', '--json'])\n"
        "finally:\n"
        "    loaded = [m for m in ('agentkernel.testing.scripted', 'agentkernel.stores.redis') if m in sys.modules]\n"
        "    print('LOADED', loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env(), timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    adapters = {p["name"]: p for p in data["adapters"]}
    stores = {p["name"]: p for p in data["stores"]}
    assert adapters["scripted"]["distribution"] == "agentkernel"
    assert adapters["scripted"]["version"]
    assert {"in_memory", "redis", "dynamodb"} <= set(stores)
    assert "LOADED []" in result.stderr


def test_plugins_table_through_the_console_script() -> None:
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    assert "agentkernel.testing.scripted:ScriptedAdapter" in result.stdout
    assert "agentkernel.stores.memory:InMemoryStore" in result.stdout


def test_help_is_useful() -> None:
    top = run_cli("--help")
    assert top.returncode == 0
    for command in ("chat", "run", "sessions", "store", "plugins", "serve"):
        assert command in top.stdout
    chat = run_cli("chat", "--help")
    assert "--session" in chat.stdout
    assert "--agent" in chat.stdout


# ------------------------------------------------- sessions, store, serve (in-process)
@pytest.fixture
def shared_store(monkeypatch: pytest.MonkeyPatch) -> InMemoryStore:
    """Every command of the test uses one in-memory store, as Redis would be shared between processes."""
    store = InMemoryStore()

    def runner(settings: Settings, agents: Any = None) -> Runner:
        return Runner(store, settings=settings, agents=agents)

    monkeypatch.setattr(cli_support, "make_runner", runner)
    return store


def invoke(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli.app, list(args), input=input, catch_exceptions=False)


def test_sessions_round_trip(shared_store: InMemoryStore, tmp_path: Path) -> None:
    assert invoke("run", "--session", "s-1", "--user", "ada", str(EXAMPLE), "my name is Ada").exit_code == 0
    assert invoke("run", "--session", "s-1", "--user", "ada", str(EXAMPLE), "what is my name?").exit_code == 0

    listed = invoke("sessions", "list", "--user", "ada", "--json")
    assert [s["id"] for s in json.loads(listed.stdout)["sessions"]] == ["s-1"]
    assert "no sessions for user bob" in invoke("sessions", "list", "--user", "bob").stdout

    shown = invoke("sessions", "show", "s-1", "--user", "ada")
    assert "#1 [ok] you -> assistant (scripted): what is my name?" in shown.stdout
    assert "assistant: Your name is Ada." in shown.stdout
    last = json.loads(invoke("sessions", "show", "s-1", "--user", "ada", "--last", "1", "--json").stdout)
    assert last["turn_count"] == 2
    assert len(last["turns"]) == 1
    assert invoke("sessions", "show", "s-1", "--user", "bob").exit_code == 1  # not bob's

    exported = tmp_path / "s-1.json"
    assert invoke("sessions", "export", "s-1", "--user", "ada", "-o", str(exported)).exit_code == 0
    assert json.loads(exported.read_text())["state"]["shared"]["user_name"] == "Ada"
    assert invoke("sessions", "delete", "s-1", "--user", "ada").exit_code == 0
    gone = invoke("sessions", "show", "s-1", "--user", "ada")
    assert gone.exit_code == 1
    assert "session 's-1' not found" in gone.stderr

    imported = invoke("sessions", "import", str(exported))
    assert imported.exit_code == 0, imported.stderr
    assert "imported session s-1 (2 turns) for user ada" in imported.stdout
    again = invoke("run", "--session", "s-1", "--user", "ada", str(EXAMPLE), "what is my name?")
    assert again.stdout == "Your name is Ada.\n"
    twice = invoke("sessions", "import", str(exported))
    assert twice.exit_code == 1
    assert "already exists" in twice.stderr


def test_sessions_export_to_stdout_and_import_from_stdin(shared_store: InMemoryStore) -> None:
    invoke("run", "--session", "s-2", str(EXAMPLE), "hello")
    exported = invoke("sessions", "export", "s-2").stdout
    invoke("sessions", "delete", "s-2")
    assert invoke("sessions", "import", "-", "--user", "carol", input=exported).exit_code == 0
    listed = json.loads(invoke("sessions", "list", "--user", "carol", "--json").stdout)
    assert [s["id"] for s in listed["sessions"]] == ["s-2"]
    bad = invoke("sessions", "import", "-", input='{"not": "an export"}')
    assert bad.exit_code == 2
    assert "is not a session export" in bad.stderr


def test_a_corrupt_session_is_exported_as_far_as_readable_and_can_be_deleted(
    shared_store: InMemoryStore, tmp_path: Path
) -> None:
    for prompt in ("first", "second", "third"):
        assert invoke("run", "--session", "s-bad", "--user", "ada", str(EXAMPLE), prompt).exit_code == 0
    entry = shared_store._sessions[("ada", "s-bad")]
    entry.turns[1] = "{not json"  # one bad turn
    entry.values.setdefault("shared", {})["kept"] = '{"v": 2, "kind": "value", "data": "fine"}'
    entry.values["shared"]["broken"] = '{"v": 2, "kind": "turn", "data": 1}'  # one bad value

    exported = tmp_path / "s-bad.json"
    result = invoke("sessions", "export", "s-bad", "--user", "ada", "-o", str(exported))
    assert result.exit_code == 1
    assert "left out 2 unreadable record(s)" in result.stderr
    assert "turn 1: turn record is not valid JSON" in result.stderr
    assert "key 'broken' of namespace 'shared'" in result.stderr
    data = json.loads(exported.read_text())
    assert [t["input"][-1]["content"] for t in data["turns"]] == ["first", "third"]
    assert data["state"]["shared"] == {"kept": "fine"}

    entry.meta = "{not json"  # now the header too: nothing loads, but delete needs no load
    assert invoke("sessions", "show", "s-bad", "--user", "ada").exit_code == 1
    deleted = invoke("sessions", "delete", "s-bad", "--user", "ada")
    assert deleted.exit_code == 0, deleted.stderr
    assert ("ada", "s-bad") not in shared_store._sessions
    assert invoke("sessions", "delete", "s-bad", "--user", "ada").exit_code == 1  # gone


def test_sessions_list_explains_the_in_memory_store() -> None:
    result = run_cli("sessions", "list")
    assert result.returncode == 0
    assert "keeps sessions only inside one process" in result.stderr


def test_store_setup_calls_setup_when_the_store_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    class TableStore(InMemoryStore):
        async def setup(self) -> bool:
            calls.append("setup")
            return len(calls) == 1  # made the first time only

    store = TableStore()
    monkeypatch.setattr(cli_support, "make_runner", lambda settings, agents=None: Runner(store, settings=settings))
    result = invoke("store", "setup")
    assert result.exit_code == 0
    assert calls == ["setup"]
    assert "store is set up" in result.stdout
    again = invoke("store", "setup")
    assert again.stdout.strip() == "the in_memory store was already set up; nothing changed"


def test_store_setup_without_setup_says_so() -> None:
    result = run_cli("store", "setup")
    assert result.returncode == 0
    assert result.stdout.strip() == "the in_memory store has nothing to set up"


def test_serve_refuses_a_public_address_without_keys() -> None:
    result = run_cli("serve", str(EXAMPLE), "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0 without API keys" in result.stderr
    no_traceback(result)


def test_serve_needs_agents() -> None:
    result = run_cli("serve")
    assert result.returncode == 2
    assert "agentkernel serve examples/assistant.py" in result.stderr


def test_docs_describe_every_command_and_chat_command() -> None:
    import re

    import typer

    from agentkernel.cli._chat import COMMANDS

    text = (ROOT / "docs" / "cli.md").read_text()
    documented = set(re.findall(r"^### `agentkernel ([a-z ]+)`$", text, flags=re.M))
    group = typer.main.get_command(cli.app)
    commands = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        commands |= {f"{name} {sub}" for sub in subcommands} if subcommands else {name}
    assert documented == commands
    for chat_command in COMMANDS.values():
        assert f"`{chat_command.usage}`" in text


def test_chat_prints_each_piece_of_the_answer_as_it_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import io
    import threading
    from collections.abc import AsyncIterator

    from rich.console import Console

    from agentkernel._loop import LoopThread
    from agentkernel.adapter import AdapterResult, RunContext, RunEvent
    from agentkernel.cli._chat import Chat
    from agentkernel.registry import AdapterSet, AgentRegistry
    from agentkernel.settings import load_settings

    seen = threading.Event()

    class Screen(io.StringIO):
        def flush(self) -> None:
            if "first " in self.getvalue():
                seen.set()

    class Slow:
        name = "slow"

    class SlowAdapter:
        name = "slow"

        def recognizes(self, agent: object) -> bool:
            return isinstance(agent, Slow)

        def agent_name(self, agent: object) -> str:
            return "slow"

        async def run(self, agent: object, context: RunContext) -> AdapterResult:
            raise NotImplementedError

        async def stream(self, agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
            yield RunEvent(type="delta", text="first ")
            printed = await asyncio.to_thread(seen.wait, 10)  # the chat must show it before the rest comes
            yield RunEvent(type="delta", text="second" if printed else "NOT STREAMED")
            yield RunEvent(type="result", result=AdapterResult(output="first second"))

    agents = AgentRegistry()
    agents.register(Slow())
    runner = Runner(InMemoryStore(), settings=load_settings(), agents=agents, adapters=AdapterSet([SlowAdapter()]))
    screen = Screen()
    loop = LoopThread()
    monkeypatch.setattr("sys.stdin", io.StringIO("go\n"))
    try:
        chat = Chat(
            runner,
            loop,
            user_id="u",
            session_id=None,
            agent=None,
            interactive=False,
            out=Console(file=screen),
            err=Console(file=io.StringIO()),
        )
        assert chat.start() == 0
    finally:
        loop.stop()
    assert screen.getvalue() == "first second\n"


@pytest.mark.parametrize(
    ("missing", "code", "message"),
    [
        (
            "typer",
            "import agentkernel.cli",
            "the agentkernel command requires the 'cli' extra: pip install 'agentkernel[cli]'",
        ),
        (
            "fastapi",
            "import agentkernel.http",
            "the HTTP front end requires the 'http' extra: pip install 'agentkernel[http]'",
        ),
        (
            "uvicorn",
            f"from agentkernel.cli import CLI; CLI.main(['serve', {str(EXAMPLE)!r}])",
            "agentkernel serve requires the 'http' extra: pip install 'agentkernel[http]'",
        ),
    ],
)
def test_missing_extras_say_what_to_install(missing: str, code: str, message: str) -> None:
    probe = f"import sys; sys.modules[{missing!r}] = None\n{code}"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env(), timeout=60, check=False
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_run_and_chat_on_a_session_continue_with_its_last_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_runner import CountingStore

    store = CountingStore()
    monkeypatch.setattr(
        cli_support, "make_runner", lambda settings, agents=None: Runner(store, settings=settings, agents=agents)
    )
    assert invoke("run", "--session", "s-1", "--agent", "historian", str(EXAMPLE), "one").exit_code == 0
    store.loads.clear()
    again = invoke("run", "--session", "s-1", "--json", str(EXAMPLE), "two")
    assert json.loads(again.stdout)["turn"]["agent"] == "historian"  # not the first agent, assistant
    assert store.loads == [True]  # the command read nothing itself; the run read once, under its lease
    store.loads.clear()
    assert invoke("chat", "--session", "s-1", str(EXAMPLE), input="three\nfour\n").exit_code == 0
    assert store.loads == [True, True]  # one read per prompt, the runs' own
    turns = asyncio.run(Sessions(store).get("s-1")).turns
    assert [turn.agent for turn in turns] == ["historian"] * 4
