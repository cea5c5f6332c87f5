"""examples/openai_agent.py runs offline when no API key is set."""

from __future__ import annotations

from pathlib import Path

from tests.examples import run_example


def test_the_example_runs_offline_with_the_scripted_model(tmp_path: Path) -> None:
    done = run_example("openai_agent.py", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "assistant> It is sunny and 24 C in Lisbon." in done.stdout
    assert "assistant> You are Ada." in done.stdout
    assert "tool_call get_weather {'city': 'Lisbon'} -> 'sunny and 24 C in Lisbon'" in done.stdout
    assert "(version 3)" in done.stdout
