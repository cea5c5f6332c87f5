from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "langgraph_agent.py"


def run_example(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    clean["PYTHONPATH"] = os.pathsep.join([str(ROOT), clean.get("PYTHONPATH", "")])
    clean.update(env)
    return subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=clean, timeout=120, check=False
    )


def test_example_runs_offline_with_a_scripted_model() -> None:
    done = run_example()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "offline: scripted model" in out
    assert "forecaster> Nice to meet you, Ada." in out
    assert "[tool_call] get_weather {'city': 'Lisbon'} -> 'sunny, 24 °C'" in out
    assert "forecaster> You told me your name is Ada." in out  # memory from the session's checkpoints
    assert "3 turns, 3 checkpoints kept" in out  # one per turn


def test_example_with_a_key_but_no_langchain_openai_says_so_and_stays_offline() -> None:
    if importlib.util.find_spec("langchain_openai") is not None:
        pytest.skip("langchain-openai is installed here, so the example would call the real model")
    done = run_example(OPENAI_API_KEY="sk-test-not-used", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    assert done.returncode == 0, done.stderr
    assert "langchain-openai is not installed" in done.stderr
    assert "You told me your name is Ada." in done.stdout
