"""examples/openai_agent.py runs offline when no API key is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_runs_offline_with_the_scripted_model() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AK_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "openai_agent.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "assistant> It is sunny and 24 C in Lisbon." in done.stdout
    assert "assistant> You are Ada." in done.stdout
    assert "tool_call get_weather {'city': 'Lisbon'} -> 'sunny and 24 C in Lisbon'" in done.stdout
    assert "(version 3)" in done.stdout
