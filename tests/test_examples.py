"""The examples run offline, as the README promises (no API key, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples import run_example


def test_the_two_turn_example(tmp_path: Path) -> None:
    done = run_example("chat.py", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "assistant> Hi! What should I call you?" in done.stdout
    assert "#1 assistant [ok] 'Call me Ada.' -> 'Nice to meet you.'" in done.stdout


@pytest.mark.slow
def test_the_multi_framework_example(tmp_path: Path) -> None:
    done = run_example("multi.py", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "analyst [langgraph]> You board at gate B12; the flight leaves at 09:40." in done.stdout
    assert "summariser [crewai]> Summary: flight noted, boarding at gate B12." in done.stdout
    assert "3 turns" in done.stdout
