"""The examples run offline, as the README promises (no API key, no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(name: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AK_"))}
    # Any attempt to reach past this machine goes to a dead loopback port instead.
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9")  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_two_turn_example(tmp_path: Path) -> None:
    out = run_example("chat.py", tmp_path)
    assert "assistant> Hi! What should I call you?" in out
    assert "#1 assistant [ok] 'Call me Ada.' -> 'Nice to meet you.'" in out


@pytest.mark.slow
def test_the_multi_framework_example(tmp_path: Path) -> None:
    out = run_example("multi.py", tmp_path)
    assert "analyst [langgraph]> You board at gate B12; the flight leaves at 09:40." in out
    assert "summariser [crewai]> Summary: flight noted, boarding at gate B12." in out
    assert "3 turns" in out
