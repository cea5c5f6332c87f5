from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.examples import run_example


def test_example_runs_offline_with_a_scripted_model(tmp_path: Path) -> None:
    done = run_example("langgraph_agent.py", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "offline: scripted model" in out
    assert "forecaster> Nice to meet you, Ada." in out
    assert "[tool_call] get_weather {'city': 'Lisbon'} -> 'sunny, 24 °C'" in out
    assert "forecaster> You told me your name is Ada." in out  # memory from the session's checkpoints
    assert "3 turns, 3 checkpoints kept" in out  # one per turn


def test_example_with_a_key_but_no_langchain_openai_says_so_and_stays_offline(tmp_path: Path) -> None:
    if importlib.util.find_spec("langchain_openai") is not None:
        pytest.skip("langchain-openai is installed here, so the example would call the real model")
    done = run_example(
        "langgraph_agent.py", tmp_path, OPENAI_API_KEY="sk-test-not-used", OPENAI_BASE_URL="http://127.0.0.1:9/v1"
    )
    assert done.returncode == 0, done.stderr
    assert "langchain-openai is not installed" in done.stderr
    assert "You told me your name is Ada." in done.stdout
