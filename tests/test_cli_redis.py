"""The CLI across processes with one real Redis: sessions outlive the command that made them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

pytest.importorskip("agentkernel.stores.redis")

from agentkernel.testing.redis_server import RedisServer
from tests.test_cli import EXAMPLE, cli_env, run_cli


@pytest.fixture(scope="module")
def redis_env() -> Iterator[dict[str, str]]:
    with RedisServer() as server:
        yield cli_env(AK_SESSION__TYPE="redis", AK_SESSION__REDIS__URL=server.url)


def test_a_chat_resumes_in_a_new_process_with_its_last_agent(redis_env: dict[str, str]) -> None:
    first = run_cli(
        "chat",
        str(EXAMPLE),
        "--session",
        "resume-me",
        "--user",
        "ada",
        stdin="my name is Ada\n!agent historian\nrecap\n",
        env=redis_env,
    )
    assert first.returncode == 0, first.stderr
    second = run_cli(
        "chat",
        str(EXAMPLE),
        "--session",
        "resume-me",
        "--user",
        "ada",
        stdin="anything new?\n!agent assistant\nwhat is my name?\n",
        env=redis_env,
    )
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert lines[0] == "2 earlier turns:"  # the historian answered: it was the session's last agent
    assert lines[-1] == "Your name is Ada."


def test_sessions_commands_see_sessions_of_earlier_commands(redis_env: dict[str, str]) -> None:
    made = run_cli("run", "--json", "--user", "bob", str(EXAMPLE), "call me Bob", env=redis_env)
    session_id = json.loads(made.stdout)["session_id"]
    listed = run_cli("sessions", "list", "--user", "bob", "--json", env=redis_env)
    assert [s["id"] for s in json.loads(listed.stdout)["sessions"]] == [session_id]
    assert "in-memory" not in listed.stderr
    assert "only inside one process" not in listed.stderr
    shown = run_cli("sessions", "show", session_id, "--user", "bob", env=redis_env)
    assert "Nice to meet you, Bob!" in shown.stdout
    assert run_cli("sessions", "delete", session_id, "--user", "bob", env=redis_env).returncode == 0
    gone = run_cli("sessions", "show", session_id, "--user", "bob", env=redis_env)
    assert gone.returncode == 1
    assert "not found" in gone.stderr
    setup = run_cli("store", "setup", env=redis_env)
    assert setup.returncode == 0
