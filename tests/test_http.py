"""The HTTP API in-process: every endpoint, every error code, auth and ownership."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentkernel import Runner, Session, StoreUnavailable
from agentkernel.adapter import RunContext, RunEvent
from agentkernel.errors import InvalidSessionId
from agentkernel.http import HEALTH_PROBE_ID, create_app
from agentkernel.registry import AgentRegistry
from agentkernel.session import DEFAULT_USER, validate_user_id
from agentkernel.settings import load_settings
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import ScriptedAgent


def explode(context: RunContext) -> str:
    raise RuntimeError(f"the model is down (prompt {context.prompt!r})")


class SwitchableStore(InMemoryStore):
    """An in-memory store that can be made to fail like a backend that is down."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("the test store is down; try again later")

    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> Session | None:
        self._check()
        return await super().load(user_id, session_id, last_turns=last_turns)

    async def acquire_lease(self, user_id: str, session_id: str, token: str, ttl: float) -> bool:
        self._check()
        return await super().acquire_lease(user_id, session_id, token, ttl)


def make_agents() -> AgentRegistry:
    registry = AgentRegistry()
    registry.register(
        ScriptedAgent("assistant", replies=["Hello there, friend", "Second answer"]), description="greets"
    )
    registry.register(ScriptedAgent("historian"))
    registry.register(ScriptedAgent("broken", replies=[explode]))
    return registry


MakeClient = Callable[..., TestClient]


@pytest.fixture
def store() -> SwitchableStore:
    return SwitchableStore()


@pytest.fixture
def make_client(store: SwitchableStore) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = load_settings(**overrides)
        runner = Runner(store, settings=settings, agents=make_agents())
        client = TestClient(create_app(runner), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


def error_of(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message
    return message


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# ------------------------------------------------------------------- POST /run
def test_run_makes_a_session_and_answers_with_the_turn(client: TestClient) -> None:
    response = client.post("/run", json={"agent": "assistant", "message": "Hi"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"session_id", "agent", "output", "turn_id", "usage", "status"}
    assert body["agent"] == "assistant"
    assert body["output"] == "Hello there, friend"
    assert body["usage"]["output_tokens"] == 3
    detail = client.get(f"/sessions/{body['session_id']}").json()
    assert [turn["id"] for turn in detail["turns"]] == [body["turn_id"]]


def test_seed_request_shape_continues_the_named_session(client: TestClient) -> None:
    seed = {"agent": "assistant", "message": "Hello!", "session_id": "user-123-conversation-1"}
    first = client.post("/run", json=seed).json()
    second = client.post("/run", json=seed).json()
    assert first["session_id"] == second["session_id"] == "user-123-conversation-1"
    assert second["output"] == "Second answer"


def test_without_agent_the_sessions_last_agent_answers(client: TestClient) -> None:
    first = client.post("/run", json={"agent": "historian", "message": "one"}).json()
    again = client.post("/run", json={"message": "two", "session_id": first["session_id"]}).json()
    assert again["agent"] == "historian"


def test_without_agent_a_new_session_gets_the_first_agent(client: TestClient) -> None:
    assert client.post("/run", json={"message": "hi"}).json()["agent"] == "assistant"


@pytest.mark.parametrize(
    "body",
    [
        {"message": ""},
        {"message": "   "},
        {"agent": "assistant"},
        {"message": "hi", "unexpected": 1},
        {"message": 5},
        {"message": "hi", "agent": ""},
        ["not", "an", "object"],
    ],
)
def test_bad_bodies_get_422(client: TestClient, body: object) -> None:
    error_of(client.post("/run", json=body), 422, "invalid_request")


def test_unknown_field_is_named_in_the_message(client: TestClient) -> None:
    message = error_of(client.post("/run", json={"message": "hi", "sesion_id": "x"}), 422, "invalid_request")
    assert "sesion_id" in message


def test_malformed_json_gets_400(client: TestClient) -> None:
    response = client.post("/run", content=b'{"message": ', headers={"content-type": "application/json"})
    error_of(response, 400, "invalid_json")


@pytest.mark.parametrize("session_id", ["has space", "x" * 129, "semi;colon"])
def test_bad_session_id_in_the_body_gets_400(client: TestClient, session_id: str) -> None:
    error_of(client.post("/run", json={"message": "hi", "session_id": session_id}), 400, "invalid_session_id")


def test_unknown_agent_gets_404(client: TestClient) -> None:
    message = error_of(client.post("/run", json={"agent": "nobody", "message": "hi"}), 404, "agent_not_found")
    assert "assistant" in message  # lists the known ones


def test_body_over_the_limit_gets_413_declared_or_streamed(make_client: MakeClient) -> None:
    client = make_client(api={"max_body_bytes": 100})
    big = json.dumps({"message": "x" * 200}).encode()
    error_of(client.post("/run", content=big, headers={"content-type": "application/json"}), 413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no content-length: counted as it arrives
        yield big[:60]
        yield big[60:]

    streamed = client.post("/run", content=chunks(), headers={"content-type": "application/json"})
    error_of(streamed, 413, "body_too_large")
    assert client.post("/run", json={"message": "small"}).status_code == 200


def test_agent_failure_is_502_and_the_error_turn_is_kept(client: TestClient) -> None:
    response = client.post("/run", json={"agent": "broken", "message": "hi", "session_id": "s-fail"})
    message = error_of(response, 502, "agent_failed")
    assert "the model is down" in message
    error = response.json()["error"]
    assert error["session_id"] == "s-fail"
    turns = client.get("/sessions/s-fail").json()["turns"]
    assert [(t["id"], t["status"]) for t in turns] == [(error["turn_id"], "error")]
    assert turns[0]["error"]["type"] == "RuntimeError"


async def test_busy_session_gets_409_with_retry_after(make_client: MakeClient, store: SwitchableStore) -> None:
    client = make_client(runner={"busy": "reject"})
    await store.acquire_lease(DEFAULT_USER, "s-busy", "another-run", 60)
    response = client.post("/run", json={"message": "hi", "session_id": "s-busy"})
    error_of(response, 409, "session_busy")
    assert int(response.headers["retry-after"]) >= 1
    streamed = client.post("/run/stream", json={"message": "hi", "session_id": "s-busy"})
    error_of(streamed, 409, "session_busy")
    await store.release_lease(DEFAULT_USER, "s-busy", "another-run")
    assert client.post("/run", json={"message": "hi", "session_id": "s-busy"}).status_code == 200


def test_store_down_gets_503(client: TestClient, store: SwitchableStore) -> None:
    store.down = True
    error_of(client.post("/run", json={"message": "hi"}), 503, "store_unavailable")
    error_of(client.get("/sessions/anything"), 503, "store_unavailable")
    error_of(client.get("/health"), 503, "store_unavailable")


def test_session_over_its_size_cap_gets_413(make_client: MakeClient) -> None:
    client = make_client(session={"max_bytes": 300})
    error_of(client.post("/run", json={"message": "hi " * 50}), 413, "session_too_large")


# ---------------------------------------------------------------- streaming
@pytest.mark.parametrize(("path", "extra"), [("/run/stream", {}), ("/run", {"stream": True})])
def test_streaming_sends_deltas_steps_then_the_turn(client: TestClient, path: str, extra: dict[str, Any]) -> None:
    response = client.post(path, json={"agent": "assistant", "message": "Hi", "session_id": "s-stream", **extra})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds == ["delta", "delta", "delta", "step", "turn"]
    assert "".join(data["text"] for kind, data in events if kind == "delta") == "Hello there, friend"
    turn = events[-1][1]
    assert turn["session_id"] == "s-stream"
    assert turn["output"] == "Hello there, friend"
    assert turn["turn"]["id"] == turn["turn_id"]
    stored = client.get("/sessions/s-stream").json()["turns"]
    assert [t["id"] for t in stored] == [turn["turn_id"]]


def test_streaming_failure_before_the_first_event_keeps_its_status(client: TestClient) -> None:
    response = client.post("/run/stream", json={"agent": "broken", "message": "hi", "session_id": "s-sf"})
    error_of(response, 502, "agent_failed")
    assert client.get("/sessions/s-sf").json()["turns"][0]["status"] == "error"


def test_streaming_failure_after_the_first_event_is_an_error_event(make_client: MakeClient) -> None:
    client = make_client()
    runner: Runner = client.app.state.runner  # type: ignore[attr-defined]

    async def flaky_stream(agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
        yield RunEvent(type="delta", text="partial ")
        raise RuntimeError("stream broke")

    adapter = runner.adapters.get("scripted")
    original = adapter.stream  # type: ignore[attr-defined]
    adapter.stream = flaky_stream  # type: ignore[attr-defined]
    try:
        response = client.post("/run/stream", json={"message": "hi", "session_id": "s-half"})
    finally:
        adapter.stream = original  # type: ignore[attr-defined]
    events = sse_events(response.text)
    assert events[0] == ("delta", {"text": "partial "})
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["code"] == "agent_failed"
    assert client.get("/sessions/s-half").json()["turns"][0]["status"] == "error"


# ------------------------------------------------------------------ sessions
def test_sessions_are_listed_newest_first_a_page_at_a_time(client: TestClient) -> None:
    for name in ("s-a", "s-b", "s-c"):
        client.post("/run", json={"message": "hi", "session_id": name})
    first = client.get("/sessions", params={"limit": 2}).json()
    assert [s["id"] for s in first["sessions"]] == ["s-c", "s-b"]
    assert first["sessions"][0]["turn_count"] == 1
    second = client.get("/sessions", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in second["sessions"]] == ["s-a"]
    assert second["next_cursor"] is None


def test_bad_paging_gets_an_error(client: TestClient) -> None:
    error_of(client.get("/sessions", params={"cursor": "not-a-cursor"}), 400, "invalid_cursor")
    error_of(client.get("/sessions", params={"limit": 0}), 400, "invalid_parameter")


def test_session_detail_with_last_n_turns(client: TestClient) -> None:
    for prompt in ("one", "two", "three"):
        client.post("/run", json={"message": prompt, "session_id": "s-last"})
    detail = client.get("/sessions/s-last", params={"last": 1}).json()
    assert detail["turn_count"] == 3
    assert [t["input"][0]["content"] for t in detail["turns"]] == ["three"]
    assert len(client.get("/sessions/s-last").json()["turns"]) == 3


def test_unknown_and_malformed_session_ids(client: TestClient) -> None:
    error_of(client.get("/sessions/nope"), 404, "session_not_found")
    error_of(client.delete("/sessions/nope"), 404, "session_not_found")
    error_of(client.get("/sessions/bad id"), 400, "invalid_session_id")


def test_delete_removes_the_session(client: TestClient) -> None:
    client.post("/run", json={"message": "hi", "session_id": "s-del"})
    assert client.delete("/sessions/s-del").status_code == 204
    error_of(client.get("/sessions/s-del"), 404, "session_not_found")
    assert client.get("/sessions").json()["sessions"] == []


# ---------------------------------------------------------------- auth
KEYS = {"keys": {"alice": "alice-key", "bob": "bob-key"}}


def test_with_keys_every_request_needs_one(make_client: MakeClient) -> None:
    client = make_client(api=KEYS)
    for method, path in [
        ("POST", "/run"),
        ("GET", "/agents"),
        ("GET", "/sessions"),
        ("GET", "/sessions/x"),
        ("DELETE", "/sessions/x"),
        ("POST", "/run/stream"),
    ]:
        response = client.request(method, path, json={"message": "hi"})
        error_of(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    wrong = client.get("/agents", headers={"Authorization": "Bearer nope"})
    assert "not valid" in error_of(wrong, 401, "unauthorized")
    assert client.get("/agents", headers={"Authorization": "Bearer alice-key"}).status_code == 200
    assert client.get("/agents", headers={"X-API-Key": "bob-key"}).status_code == 200
    assert client.get("/health").status_code == 200  # probes need no key; it shows no data


def test_sessions_belong_to_their_creator(make_client: MakeClient) -> None:
    client = make_client(api=KEYS)
    alice = {"Authorization": "Bearer alice-key"}
    bob = {"X-API-Key": "bob-key"}
    made = client.post("/run", json={"message": "secret", "session_id": "s-alice"}, headers=alice).json()
    assert made["session_id"] == "s-alice"
    error_of(client.get("/sessions/s-alice", headers=bob), 404, "session_not_found")
    error_of(client.delete("/sessions/s-alice", headers=bob), 404, "session_not_found")
    assert client.get("/sessions", headers=bob).json()["sessions"] == []
    # bob's run under the same id makes bob's own session: alice's is neither seen nor touched
    assert client.post("/run", json={"message": "hi", "session_id": "s-alice"}, headers=bob).status_code == 200
    assert client.get("/sessions/s-alice", headers=bob).json()["turn_count"] == 1
    assert [s["id"] for s in client.get("/sessions", headers=alice).json()["sessions"]] == ["s-alice"]
    assert client.get("/sessions/s-alice", headers=alice).json()["user_id"] == "alice"
    assert [t["input"][-1]["content"] for t in client.get("/sessions/s-alice", headers=alice).json()["turns"]] == [
        "secret"
    ]


def test_without_keys_the_caller_is_anonymous(client: TestClient) -> None:
    made = client.post("/run", json={"message": "hi"}).json()
    assert client.get(f"/sessions/{made['session_id']}").json()["user_id"] == "anonymous"


# ------------------------------------------------------------------ the rest
def test_agents_lists_names_descriptions_and_frameworks(client: TestClient) -> None:
    agents = client.get("/agents").json()["agents"]
    assert agents[0] == {"name": "assistant", "description": "greets", "framework": "scripted"}
    assert [a["name"] for a in agents] == ["assistant", "historian", "broken"]


def test_health_reads_the_store(client: TestClient, store: SwitchableStore) -> None:
    seen: list[str] = []
    original = store.load

    async def spy(user_id: str, session_id: str, *, last_turns: int | None = None) -> Session | None:
        seen.append(session_id)
        with pytest.raises(InvalidSessionId):
            validate_user_id(user_id)  # an owner no user can be
        return await original(user_id, session_id, last_turns=last_turns)

    store.load = spy  # type: ignore[method-assign]
    response = client.get("/health")
    assert response.json() == {"status": "ok", "store": "in_memory"}
    assert seen == [HEALTH_PROBE_ID]


def test_unknown_routes_and_methods_use_the_error_shape(client: TestClient) -> None:
    error_of(client.get("/nowhere"), 404, "not_found")
    error_of(client.get("/run"), 405, "method_not_allowed")


def test_openapi_describes_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/run", "/run/stream", "/agents", "/sessions", "/sessions/{session_id}", "/health"} <= set(schema["paths"])
    assert "RunRequest" in schema["components"]["schemas"]
    assert "409" in schema["paths"]["/run"]["post"]["responses"]


def test_create_app_loads_the_agents_module_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    module = tmp_path / "my_agents.py"
    module.write_text(
        "from agentkernel.testing import ScriptedAgent\nagents = [ScriptedAgent('solo', replies=['hey'])]\n"
    )
    monkeypatch.setenv("AK_API__AGENTS", str(module))
    with TestClient(create_app()) as client:
        assert client.post("/run", json={"message": "hi"}).json()["output"] == "hey"


async def test_a_session_changed_under_the_run_gets_409_with_reject(
    make_client: MakeClient, store: SwitchableStore
) -> None:
    from agentkernel.sessions import Sessions

    async def meddle(context: RunContext) -> str:
        sessions = Sessions(store)
        other = await sessions.get("s-conflict")
        other.set("meddled", True)
        await sessions.save(other)  # commits while the run works on the older version
        return "done"

    client = make_client(runner={"conflict": "reject"})
    runner: Runner = client.app.state.runner  # type: ignore[attr-defined]
    runner.register(ScriptedAgent("meddler", replies=["first", meddle]))
    assert client.post("/run", json={"agent": "meddler", "message": "a", "session_id": "s-conflict"}).status_code == 200
    response = client.post("/run", json={"agent": "meddler", "message": "b", "session_id": "s-conflict"})
    error_of(response, 409, "session_conflict")
    assert response.headers["retry-after"] == "1"
    assert client.get("/sessions/s-conflict").json()["turn_count"] == 1


def test_a_corrupt_session_gets_500_and_others_still_work(client: TestClient, store: SwitchableStore) -> None:
    client.post("/run", json={"message": "hi", "session_id": "s-corrupt"})
    client.post("/run", json={"message": "hi", "session_id": "s-fine"})
    store._corrupt(DEFAULT_USER, "s-corrupt", "not a record")
    error_of(client.get("/sessions/s-corrupt"), 500, "corrupt_session")
    assert client.get("/sessions/s-fine").status_code == 200
    assert client.delete("/sessions/s-corrupt").status_code == 204  # as the error message advises
    error_of(client.get("/sessions/s-corrupt"), 404, "session_not_found")
    assert client.post("/run", json={"message": "again", "session_id": "s-corrupt"}).status_code == 200


def documented_endpoints() -> set[tuple[str, str]]:
    text = (Path(__file__).resolve().parents[1] / "docs" / "http.md").read_text()
    return {(m, p) for m, p in re.findall(r"^### `(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+)`$", text, flags=re.M)}


def test_the_documented_endpoints_are_the_apps_routes(client: TestClient) -> None:
    from fastapi.routing import APIRoute

    app = client.app
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)  # type: ignore[attr-defined]
        for method in route.methods
    }
    assert documented_endpoints() == routes


def test_every_error_code_is_documented() -> None:
    from agentkernel.http import _errors as http_errors

    text = (Path(__file__).resolve().parents[1] / "docs" / "http.md").read_text()
    documented = set(re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", text, flags=re.M))
    codes = {(str(status), code) for _, status, code in http_errors._STATUSES}
    codes |= {(str(status), code) for status, code in http_errors._HTTP_CODES.items()}
    codes |= {("400", "invalid_json"), ("400", "invalid_cursor"), ("400", "invalid_parameter")}
    codes |= {("422", "invalid_request")}
    assert codes == documented


def test_an_agent_no_adapter_runs_is_a_500_and_listed_without_framework(client: TestClient) -> None:
    runner: Runner = client.app.state.runner  # type: ignore[attr-defined]
    runner.register(object(), name="orphan")
    message = error_of(client.post("/run", json={"agent": "orphan", "message": "hi"}), 500, "server_error")
    assert "no installed adapter recognises" in message
    listed = {a["name"]: a["framework"] for a in client.get("/agents").json()["agents"]}
    assert listed["orphan"] is None


@pytest.mark.parametrize("path", ["/run", "/run/stream"])
def test_the_front_end_reads_no_session_itself_to_choose_the_agent(path: str) -> None:
    from tests.test_runner import CountingStore

    store = CountingStore()
    runner = Runner(store, settings=load_settings(), agents=make_agents())
    with TestClient(create_app(runner)) as client:
        assert client.post(path, json={"agent": "historian", "message": "one", "session_id": "s-1"}).status_code == 200
        store.loads.clear()
        response = client.post(path, json={"message": "two", "session_id": "s-1"})
        assert response.status_code == 200
    turn = response.json() if path == "/run" else sse_events(response.text)[-1][1]
    assert turn["agent"] == "historian"
    assert store.loads == [True]  # one read per request: the run's own, under its lease
