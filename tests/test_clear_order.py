"""Clears, deletes and sets keep the order they were called in, through runner.run and Sessions.save alike."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkernel import InMemoryStore, Runner, Session, Sessions
from agentkernel.settings import load_settings
from agentkernel.testing import ScriptedAgent

KEYS = st.sampled_from(["a", "b", "c"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, st.integers(0, 9)),
        st.tuples(st.just("delete"), KEYS, st.none()),
        st.tuples(st.just("clear"), st.none(), st.none()),
        st.tuples(st.just("clear_transcript"), st.none(), st.none()),
        st.tuples(st.just("tool_set"), KEYS, st.integers(0, 9)),
    ),
    max_size=8,
)


def apply(session: Session, model: dict[str, dict[str, Any]], ops: list[tuple[str, Any, Any]]) -> bool:
    """Apply ``ops`` to the session and to the model; return whether the transcript was cleared."""
    cleared = False
    for op, key, value in ops:
        if op == "set":
            session.set(key, value)
            model["shared"][key] = value
        elif op == "tool_set":
            session.namespace("tools").__setitem__(key, value)
            model["tools"][key] = value
        elif op == "delete":
            if key in model["shared"]:
                session.delete(key)
                del model["shared"][key]
        else:
            session.clear(transcript=op == "clear_transcript")
            model["shared"].clear()
            model["tools"].clear()
            cleared = cleared or op == "clear_transcript"
    return cleared


async def seeded() -> tuple[Runner, Sessions]:
    store = InMemoryStore()
    runner = Runner(store, settings=load_settings())
    await runner.run(ScriptedAgent(), "s", "first")
    session = await runner.sessions.get("s")
    session.set("a", 1)
    session.namespace("tools")["b"] = 2
    await runner.sessions.save(session)
    return runner, runner.sessions


def observed(session: Session) -> dict[str, dict[str, Any]]:
    return {name: dict(session.namespace(name)) for name in ("shared", "tools")}


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
async def test_save_and_run_commit_the_calls_in_the_order_they_were_made(ops: list[tuple[str, Any, Any]]) -> None:
    model: dict[str, dict[str, Any]] = {"shared": {"a": 1}, "tools": {"b": 2}}

    _, sessions = await seeded()
    handle = await sessions.get("s")
    cleared = apply(handle, {k: dict(v) for k, v in model.items()}, ops)
    await sessions.save(handle)
    saved = await sessions.get("s")

    runner_b, sessions_b = await seeded()
    handle_b = await sessions_b.get("s")
    apply(handle_b, model, ops)
    await runner_b.run(ScriptedAgent(), handle_b, "second")
    ran = await sessions_b.get("s")

    assert observed(saved) == model
    assert observed(ran) == model
    assert saved.turn_count == (0 if cleared else 1)
    assert ran.turn_count == saved.turn_count + 1


async def test_a_clear_on_a_session_object_never_loaded_clears_the_stored_session() -> None:
    runner, sessions = await seeded()
    fresh = Session("s")  # never loaded
    fresh.clear()
    fresh.set("kept", True)
    await runner.run(ScriptedAgent(), fresh, "after the clear")
    stored = await sessions.get("s")
    assert observed(stored) == {"shared": {"kept": True}, "tools": {}}
    assert stored.turn_count == 2  # a plain clear() keeps the transcript
