"""Guarantee 9: no answer differs by whether another user has a session of the same id.

Sessions are stored by owner and id, so user B's requests are answered the same whether user A has
no session of that id, an idle one, one being run (its lease held), or one A deleted. The HTTP test
replays one sequence of B's requests against each of those worlds; the property test interleaves
two users' operations on the same ids and checks that each user's observations are exactly those of
the same operations run with the other user absent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentkernel import Runner, Session
from agentkernel.errors import AgentKernelError
from agentkernel.http import create_app
from agentkernel.registry import AgentRegistry
from agentkernel.settings import load_settings
from agentkernel.stores.memory import InMemoryStore
from agentkernel.testing import ScriptedAgent

SID = "shared-id"
KEYS = {"keys": {"alice": "alice-key", "bob": "bob-key"}}
ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}
NOISE = {"created_at", "updated_at", "started_at", "ended_at", "turn_id"}
"""Fields that differ between any two runs (times, random turn ids), never by another user."""


def _quiet(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _quiet(v) for k, v in data.items() if k not in NOISE and not (k == "id" and v != SID)}
    if isinstance(data, list):
        return [_quiet(item) for item in data]
    return data


def _answer(response: Any) -> tuple[int, Any, str | None]:
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/event-stream"):
        events = [
            (dict(line.split(": ", 1) for line in block.splitlines()))
            for block in response.text.strip().split("\n\n")
        ]
        body: Any = [(event["event"], _quiet(json.loads(event["data"]))) for event in events]
    elif response.content:
        body = _quiet(response.json())
    else:
        body = None
    return response.status_code, body, response.headers.get("retry-after")


def _bobs_requests(client: TestClient) -> list[tuple[int, Any, str | None]]:
    run = {"agent": "historian", "session_id": SID}
    requests = [
        ("GET", f"/sessions/{SID}", None),
        ("DELETE", f"/sessions/{SID}", None),
        ("GET", "/sessions", None),
        ("POST", "/run", {**run, "message": "bob one"}),
        ("GET", f"/sessions/{SID}", None),
        ("POST", "/run/stream", {**run, "message": "bob two"}),
        ("GET", "/sessions", None),
        ("GET", f"/sessions/{SID}?last=1", None),
        ("DELETE", f"/sessions/{SID}", None),
        ("GET", f"/sessions/{SID}", None),
        ("DELETE", f"/sessions/{SID}", None),
        ("POST", "/run", {**run, "message": "bob again"}),
    ]
    return [_answer(client.request(method, path, json=body, headers=BOB)) for method, path, body in requests]


def _world(alice_has: str) -> list[tuple[int, Any, str | None]]:
    store = InMemoryStore()
    agents = AgentRegistry()
    agents.register(ScriptedAgent("historian"))
    runner = Runner(store, settings=load_settings(api=KEYS, runner={"busy": "reject"}), agents=agents)
    with TestClient(create_app(runner), raise_server_exceptions=False) as client:
        if alice_has != "nothing":
            made = client.post("/run", json={"agent": "historian", "message": "alice's secret", "session_id": SID},
                               headers=ALICE)
            assert made.status_code == 200
        if alice_has == "a running session":  # a run of alice's holds her session's lease throughout
            assert client.portal.call(store.acquire_lease, "alice", SID, "alice-run", 600)
        if alice_has == "a deleted session":
            assert client.delete(f"/sessions/{SID}", headers=ALICE).status_code == 204
        answers = _bobs_requests(client)
        if alice_has in ("an idle session", "a running session"):
            kept = client.get(f"/sessions/{SID}", headers=ALICE).json()
            assert [t["input"][-1]["content"] for t in kept["turns"]] == ["alice's secret"]
    return answers


def test_no_answer_to_a_user_differs_by_whether_another_user_has_that_id() -> None:
    alone = _world("nothing")
    assert [status for status, _, _ in alone] == [404, 404, 200, 200, 200, 200, 200, 200, 204, 404, 404, 200]
    for alice_has in ("an idle session", "a running session", "a deleted session"):
        assert _world(alice_has) == alone, f"bob's answers changed when alice had {alice_has}"


# ------------------------------------------------------------- property: interleavings
USERS = ("alice", "bob")
IDS = ("one", "two")
OPS = ("run", "save", "get", "delete", "list", "hold", "release")
Op = tuple[str, str, str]  # user, operation, session id


async def _observe(ops: list[Op]) -> dict[str, list[Any]]:
    """Apply ``ops`` in order; what each user saw, op by op (an error by its type)."""
    store = InMemoryStore()
    runner = Runner(store, settings=load_settings(runner={"busy": "reject"}))
    agent = ScriptedAgent("historian")
    seen: dict[str, list[Any]] = {user: [] for user in USERS}
    for user, op, sid in ops:
        step = len(seen[user])  # the user's own count, the same with or without the other user
        try:
            seen[user].append(await _apply(runner, store, agent, user, op, sid, step))
        except AgentKernelError as exc:
            seen[user].append(type(exc).__name__)
    return seen


async def _apply(
    runner: Runner, store: InMemoryStore, agent: ScriptedAgent, user: str, op: str, sid: str, step: int
) -> Any:
    sessions = runner.sessions
    if op == "run":
        turn = await runner.run(agent, sid, f"{user} {step}", user_id=user)
        return turn.output
    if op == "save":  # a session object of this user: set a value and save it
        session = await sessions.find(sid, user_id=user) or Session(sid, user_id=user)
        session.set("last", step)
        return (await sessions.save(session, user_id=user)).version
    if op == "get":
        found = await sessions.find(sid, user_id=user)
        if found is None:
            return None
        return found.version, found.get("last"), [t.prompt for t in found.turns]
    if op == "delete":
        await sessions.delete(sid, user_id=user)
        return "deleted"
    if op == "list":
        return sorted((m.id, m.version, m.turn_count) for m in (await sessions.list(user_id=user)).sessions)
    if op == "hold":  # as a run in flight does
        return await store.acquire_lease(user, sid, f"{user}-holder", 600)
    return await store.release_lease(user, sid, f"{user}-holder")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(OPS), st.sampled_from(IDS)), max_size=25))
def test_each_user_sees_exactly_what_they_would_see_alone(ops: list[Op]) -> None:
    together = asyncio.run(_observe(ops))
    for user in USERS:
        alone = asyncio.run(_observe([op for op in ops if op[0] == user]))
        assert together[user] == alone[user], f"{user}'s answers depended on the other user's operations"
