"""One rule for client disconnects: a started run goes on to its commit (docs/http.md, "Disconnects")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_http_server import Served

AGENTS = """
from agentkernel.testing import ScriptedAgent

agents = [ScriptedAgent("slow", replies=["one two three four five"], delay=1.0, pace=0.4)]
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    module = tmp_path / "slow_agents.py"
    module.write_text(AGENTS)
    with Served(module, tmp_path / "server.log") as server:
        yield server


def committed_outputs(client: httpx.Client, session_id: str, *, want: int) -> list[str]:
    deadline = time.monotonic() + 15
    outputs: list[str] = []
    while time.monotonic() < deadline:
        response = client.get(f"/sessions/{session_id}")
        if response.status_code == 200:
            outputs = [turn["output"] for turn in response.json()["turns"]]
            if len(outputs) >= want:
                return outputs
        time.sleep(0.2)
    return outputs


def test_a_stream_dropped_before_its_first_event_is_still_committed(served: Served) -> None:
    body = {"agent": "slow", "message": "hi", "session_id": "dropped-early"}
    with (
        httpx.Client(base_url=served.url, timeout=0.3) as impatient,
        pytest.raises(httpx.ReadTimeout),
        impatient.stream("POST", "/run/stream", json=body) as response,
    ):
        response.read()
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert committed_outputs(client, "dropped-early", want=1) == ["one two three four five"]


def test_a_stream_dropped_mid_answer_is_still_committed(served: Served) -> None:
    body = {"agent": "slow", "message": "hi", "session_id": "dropped-mid"}
    with httpx.Client(base_url=served.url, timeout=10) as client:
        with client.stream("POST", "/run/stream", json=body) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("event: delta"):
                    break  # the client goes away after the first piece of the answer
        assert committed_outputs(client, "dropped-mid", want=1) == ["one two three four five"]
        again = client.post("/run", json={"agent": "slow", "message": "again", "session_id": "dropped-mid"})
        assert again.status_code == 200, "the dropped run kept the session's lease"
        assert committed_outputs(client, "dropped-mid", want=2)[-1] == "one two three four five"


def test_a_run_whose_client_gave_up_is_still_committed(served: Served) -> None:
    body = {"agent": "slow", "message": "hi", "session_id": "gave-up"}
    with httpx.Client(base_url=served.url, timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/run", json=body)
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert committed_outputs(client, "gave-up", want=1) == ["one two three four five"]
