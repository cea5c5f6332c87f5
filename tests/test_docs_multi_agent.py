"""The multi-agent snippet in docs/concepts.md runs as printed (item 5 of issue 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentkernel.testing import ScriptedAgent

CONCEPTS = Path(__file__).resolve().parent.parent / "docs" / "concepts.md"


def _multi_agent_snippet() -> str:
    section = CONCEPTS.read_text(encoding="utf-8").split("### Several agents, one session", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the section has no python snippet"
    return found.group(1)


def test_the_documented_multi_agent_snippet_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = _multi_agent_snippet()
    exec(compile(code, str(CONCEPTS), "exec"), {"__name__": "__docs__"})  # our own docs, nothing else
    assert capsys.readouterr().out.splitlines() == [
        "researcher -> Paris: 18 °C and sunny.",
        "writer -> Summary of 1 earlier turn(s).",
        "2 turns in user-123",
    ]


def test_the_unsupported_shape_is_named_next_to_the_working_one() -> None:
    section = CONCEPTS.read_text(encoding="utf-8").split("### Several agents, one session", 1)[1]
    assert "agent1.runner.run(agent1, session, prompt)" in section
    assert not hasattr(ScriptedAgent("a"), "runner")
