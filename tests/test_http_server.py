"""The HTTP service in a real uvicorn process on a loopback port, started by `agentkernel serve`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from tests.test_cli import COMMAND, EXAMPLE, cli_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """``agentkernel serve MODULE`` in its own process, until the ``with`` block ends."""

    def __init__(self, module: Path | str, log: Path, *, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        args = [
            *COMMAND,
            "serve",
            str(module),
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ]
        self._out = log.open("w")
        self.process = subprocess.Popen(args, env=cli_env(**env), stdout=self._out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the server did not answer /health within {timeout}s:\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()
        return self.process.returncode

    def __enter__(self) -> Served:
        self.wait_ready()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with Served(EXAMPLE, tmp_path / "server.log") as server:
        yield server


def test_one_worker_serves_the_basic_flow(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert [a["name"] for a in client.get("/agents").json()["agents"]] == ["assistant", "historian"]
        first = client.post("/run", json={"message": "my name is Ada"})
        assert first.status_code == 200
        session_id = first.json()["session_id"]
        second = client.post("/run", json={"message": "what is my name?", "session_id": session_id}).json()
        assert second["output"] == "Your name is Ada."
        with client.stream(
            "POST", "/run/stream", json={"agent": "historian", "message": "recap", "session_id": session_id}
        ) as streamed:
            assert streamed.status_code == 200
            events = [line.removeprefix("event: ") for line in streamed.iter_lines() if line.startswith("event: ")]
        assert events[0] == "delta"
        assert events[-1] == "turn"
        detail = client.get(f"/sessions/{session_id}").json()
        assert [t["agent"] for t in detail["turns"]] == ["assistant", "assistant", "historian"]
        bad = client.post("/run", json={"message": ""})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_request"
        assert client.delete(f"/sessions/{session_id}").status_code == 204
        assert client.get(f"/sessions/{session_id}").status_code == 404
        assert "/run" in json.dumps(client.get("/openapi.json").json()["paths"])
    output = served.output()
    assert "serving on loopback only" in output
    assert "serving agents assistant, historian" in output
    assert served.stop() == 0
    assert "Traceback" not in served.output()


def test_keys_are_enforced_by_the_real_server(tmp_path: Path) -> None:
    keys = json.dumps({"alice": "alice-key"})
    with Served(EXAMPLE, tmp_path / "server.log", AK_API__KEYS=keys) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert client.post("/run", json={"message": "hi"}).status_code == 401
            ok = client.post("/run", json={"message": "hi"}, headers={"Authorization": "Bearer alice-key"})
            assert ok.status_code == 200
        assert "no API keys configured" not in server.output()
