"""What a newcomer's mistakes look like on the command line: one ``error:`` line, the right exit status.

Each case runs the real ``agentkernel`` command as a subprocess (issue 10, items 2, 4 and 7).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkernel import __version__
from tests.test_cli import EXAMPLE, cli_env, no_traceback, run_cli


def one_error_line(result: subprocess.CompletedProcess[str], status: int = 2) -> str:
    """The single ``error:`` line on stderr (and nothing else there), after checking the status."""
    assert result.returncode == status, (result.stdout, result.stderr)
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# ------------------------------------------------------------------------- settings (item 2)
_BAD_SETTINGS = [
    ({"AK_API__KEYS": "notjson"}, "AK_API__KEYS is not valid JSON"),
    ({"AK_SESSION__REDIS": "redis://localhost:6379/0"}, "AK_SESSION__REDIS__URL="),
    ({"AK_SESSION": "{bad"}, "AK_SESSION is not valid JSON"),
    ({"AK_SESSION__REDIS__URLL": "redis://localhost:6379/0"}, "AK_SESSION__REDIS__URLL"),
    ({"AK_SESSION__TYPE": "redis", "AK_SESSION__REDIS__URLL": "x"}, "valid options: URL"),
]
_COMMANDS = {
    "run": ["run", str(EXAMPLE), "hi"],
    "chat": ["chat", str(EXAMPLE)],
    "serve": ["serve", str(EXAMPLE), "--port", "0"],
}


@pytest.mark.parametrize("command", list(_COMMANDS))
@pytest.mark.parametrize(("variables", "named"), _BAD_SETTINGS)
def test_a_bad_setting_is_one_error_line_with_exit_2(command: str, variables: dict[str, str], named: str) -> None:
    result = run_cli(*_COMMANDS[command], stdin="hi\n", env=cli_env(**variables))
    assert named in one_error_line(result)


@pytest.mark.parametrize("command", list(_COMMANDS))
def test_garbage_in_every_json_variable_is_one_error_line(command: str) -> None:
    garbage = "{\x7f'\u00e9]]"
    env = cli_env(AK_SESSION=garbage, AK_RUNNER=garbage, AK_API=garbage, AK_API__KEYS=garbage)
    line = one_error_line(run_cli(*_COMMANDS[command], stdin="hi\n", env=env))
    for variable in ("AK_SESSION ", "AK_RUNNER ", "AK_API ", "AK_API__KEYS "):
        assert variable in line


def test_options_of_a_store_that_is_not_selected_warn_in_one_line() -> None:
    result = run_cli("run", str(EXAMPLE), "hi", env=cli_env(AK_SESSION__REDIS__URL="redis://localhost:6379/0"))
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.strip().splitlines()
    assert warning.startswith("warning: AK_SESSION__REDIS__URL set but AK_SESSION__TYPE=in_memory")
    assert "set AK_SESSION__TYPE=redis" in warning
    assert "you said: 'hi'" in result.stdout


def test_uvicorns_factory_path_ends_with_the_config_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "agentkernel.http:create_app", "--port", "0"],
        capture_output=True,
        text=True,
        env=cli_env(AK_SESSION__REDIS="redis://localhost:6379/0", AK_API__AGENTS=str(EXAMPLE)),
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("agentkernel.errors.ConfigError: invalid settings: AK_SESSION__REDIS is not valid JSON")


# ------------------------------------------------------------------------- serve --workers (item 4)
def test_several_workers_on_the_in_memory_store_are_refused() -> None:
    line = one_error_line(run_cli("serve", str(EXAMPLE), "--workers", "2", "--port", "0"))
    assert "--workers 2 with AK_SESSION__TYPE=in_memory" in line
    assert "each worker process has its own memory" in line
    assert "AK_SESSION__TYPE=redis" in line and "--workers 1" in line


# ------------------------------------------------------------------------- small things (item 7)
def test_run_with_a_file_and_no_prompt_says_the_prompt_is_missing() -> None:
    line = one_error_line(run_cli("run", str(EXAMPLE)))
    assert "the prompt is missing" in line
    assert "usage: agentkernel run [OPTIONS] [MODULE] PROMPT" in line
    assert "no agents given" not in line


def test_version_lists_agentkernel_and_each_adapter() -> None:
    from agentkernel.plugins import ADAPTER_GROUP, list_plugins

    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"agentkernel {__version__}"
    for info in list_plugins(ADAPTER_GROUP):
        assert f"{info.name} adapter: {info.distribution} {info.version}" in lines


def test_version_through_cli_main(tmp_path: Path) -> None:
    script = "from agentkernel.cli import CLI\nfrom agentkernel.testing import ScriptedAgent\n"
    script += "agents = [ScriptedAgent('a')]\nCLI.main()\n"
    path = tmp_path / "agents.py"
    path.write_text(script)
    result = subprocess.run(
        [sys.executable, str(path), "--version"], capture_output=True, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"agentkernel {__version__}\n")


def test_history_with_a_bad_count_prints_the_usage_and_0_shows_every_turn() -> None:
    script = "one\ntwo\n!history abc\n!history -1\n!history 0\n!history 1\n"
    result = run_cli("chat", str(EXAMPLE), stdin=script)
    no_traceback(result)
    errors = result.stderr.strip().splitlines()
    assert errors == [
        "error: usage: !history [N]: N is a number of turns (0 or all: every turn), not 'abc'",
        "error: usage: !history [N]: N is a number of turns (0 or all: every turn), not '-1'",
    ]
    out = result.stdout
    assert "invalid literal" not in out + result.stderr
    assert "no turns yet" not in out
    assert out.count("#0 you -> assistant: one") == 1  # only !history 0 shows the first turn
    assert out.count("#1 you -> assistant: two") == 2  # !history 0 and !history 1


# ------------------------------------------------------------------------- Redis advice (item 7)
@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    pytest.importorskip("agentkernel.stores.redis")
    from agentkernel.testing.redis_server import RedisServer

    with RedisServer() as server:
        yield server.url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_redis_db_index_out_of_range_says_how_to_choose_the_database(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/99"
    env = cli_env(AK_SESSION__TYPE="redis", AK_SESSION__REDIS__URL=url)
    line = one_error_line(run_cli("run", str(EXAMPLE), "hi", env=env), status=1)
    assert "has no such database (DB index is out of range)" in line
    assert "must be below the server's `databases` setting" in line
    assert "maxmemory" not in line


def test_a_refused_redis_connection_says_to_start_the_server_or_fix_the_url() -> None:
    pytest.importorskip("agentkernel.stores.redis")
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    env = cli_env(AK_SESSION__TYPE="redis", AK_SESSION__REDIS__URL=url)
    line = one_error_line(run_cli("run", str(EXAMPLE), "hi", env=env), status=1)
    assert f"could not connect to Redis at {url}" in line
    assert "check that the server is running (start redis-server)" in line
    assert "the host and port in AK_SESSION__REDIS__URL are right" in line
    assert "may or may not have reached the server" not in line


async def test_a_write_to_a_refused_redis_says_nothing_was_sent() -> None:
    pytest.importorskip("agentkernel.stores.redis")
    from agentkernel._records import pending_change
    from agentkernel.errors import StoreUnavailable
    from agentkernel.session import Session
    from agentkernel.stores.redis import RedisStore

    url = f"redis://127.0.0.1:{_closed_port()}/0"
    async with RedisStore.from_url(url, retries=0, socket_connect_timeout=0.5) as store:
        with pytest.raises(StoreUnavailable) as caught:
            await store.commit(pending_change(Session("s1")))
    assert "nothing was sent, so retrying is safe" in str(caught.value)
    assert "may or may not have reached the server" not in str(caught.value)
