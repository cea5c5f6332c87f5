"""Bad input is refused where it enters, before anything runs or is stored (guarantee 10)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agentkernel import InMemoryStore, InvalidValue, Runner, Sessions, SessionStore
from agentkernel.http import create_app
from agentkernel.session import DEFAULT_USER
from agentkernel.settings import load_settings
from agentkernel.testing import ScriptedAgent

LONE = "\ud800"




async def test_a_prompt_with_a_lone_surrogate_is_refused_before_the_agent_runs() -> None:
    store = InMemoryStore()
    runs: list[str] = []
    agent = ScriptedAgent(replies=[lambda ctx: runs.append(ctx.prompt) or "ok"])
    runner = Runner(store, settings=load_settings())
    for prompt in (f"hi {LONE}", [{"role": "user", "content": LONE}], [{"role": "user", "content": "x", "name": LONE}]):
        with pytest.raises(InvalidValue, match="unpaired surrogate"):
            await runner.run(agent, "s1", prompt)
    assert runs == []
    assert await store.load(DEFAULT_USER, "s1") is None


def test_http_answers_422_invalid_value_and_stores_nothing() -> None:
    store = InMemoryStore()
    runner = Runner(store, settings=load_settings())
    runner.register(ScriptedAgent("assistant"))
    with TestClient(create_app(runner), raise_server_exceptions=False) as client:
        raw = '{"agent": "assistant", "message": "hi \\ud800", "session_id": "s2"}'
        response = client.post("/run", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_value"
        assert client.get("/sessions/s2").status_code == 404


def test_no_user_can_create_the_session_the_health_check_reads() -> None:
    from agentkernel import InvalidSessionId
    from agentkernel.http import HEALTH_PROBE_ID
    from agentkernel.session import validate_session_id

    with pytest.raises(InvalidSessionId):
        validate_session_id(HEALTH_PROBE_ID)
    runner = Runner(InMemoryStore(), settings=load_settings())
    runner.register(ScriptedAgent("assistant"))
    with TestClient(create_app(runner), raise_server_exceptions=False) as client:
        body = {"agent": "assistant", "message": "squat", "session_id": HEALTH_PROBE_ID}
        assert client.post("/run", json=body).status_code == 400
        assert client.get("/health").status_code == 200


_FORGED_CURSORS = [
    "not-a-cursor!",
    "W10",  # []
    "WzEsMl0",  # [1,2]: the id is not a string
    "WzFlKzMwMCwieCJd",  # [1e+300,"x"]: not a time
    "x" * 5000,
]


async def _forged_input_is_the_callers_error(store: SessionStore) -> None:
    sessions = Sessions(store)
    for cursor in _FORGED_CURSORS:
        with pytest.raises(ValueError, match="invalid page cursor"):
            await sessions.list(cursor=cursor)
    with pytest.raises(ValueError, match="last_turns"):
        await sessions.find("some-session", last_turns=10**20)
    with pytest.raises(ValueError, match="last_turns"):
        await sessions.find("some-session", last_turns=-1)


async def test_forged_cursors_and_huge_windows_are_the_callers_error_in_memory() -> None:
    await _forged_input_is_the_callers_error(InMemoryStore())


async def test_forged_cursors_and_huge_windows_are_the_callers_error_on_redis(redis_store: SessionStore) -> None:
    await _forged_input_is_the_callers_error(redis_store)


def test_http_names_the_bad_cursor_and_window() -> None:
    runner = Runner(InMemoryStore(), settings=load_settings())
    runner.register(ScriptedAgent("assistant"))
    with TestClient(create_app(runner), raise_server_exceptions=False) as client:
        assert client.post("/run", json={"agent": "assistant", "message": "hi", "session_id": "s"}).status_code == 200
        for cursor in _FORGED_CURSORS:
            response = client.get("/sessions", params={"cursor": cursor})
            assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
        response = client.get("/sessions/s", params={"last": 10**20})
        assert response.status_code == 400 and "last" in response.json()["error"]["message"]
        assert response.json()["error"]["code"] == "invalid_parameter"
