from __future__ import annotations

import math
from collections import OrderedDict

import pytest

from agentkernel import CorruptSession, InvalidSessionId, InvalidValue, ReadOnlyNamespace, Session
from agentkernel._records import absorb_pending, adopt, fork, mark_committed, pending_change, set_system
from agentkernel.session import SYSTEM_NAMESPACE
from agentkernel.transcript import Message, Turn


def turn(text: str) -> Turn:
    return Turn(agent="a", framework="scripted", input=[Message(role="user", content=text)], output="ok")


def test_the_seed_shape_works() -> None:
    from agentkernel.core import Session as SeedSession

    session = SeedSession(id="custom-session-id")
    session.set("openai_assistant_session", {"items": [1]})
    assert session.get("openai_assistant_session") == {"items": [1]}
    assert session.get("missing") is None
    assert session.get("missing", 5) == 5
    assert session.id == "custom-session-id"


def test_generated_ids_are_uuid4_hex_and_unique() -> None:
    ids = {Session().id for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


@pytest.mark.parametrize("bad", ["", "a" * 129, "has space", "slash/id", "ünï", "new\nline", "{tag}", 42, None])
def test_bad_session_ids_are_refused_clearly(bad: object) -> None:
    if bad is None:
        return  # None means "generate one": covered above
    with pytest.raises(InvalidSessionId, match="1-128 characters"):
        Session(id=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("good", ["a", "a" * 128, "user-123:thread.4_x"])
def test_good_session_ids_are_kept(good: str) -> None:
    assert Session(id=good).id == good


def test_bad_user_id_is_refused() -> None:
    with pytest.raises(InvalidSessionId, match="user id"):
        Session(user_id="no spaces please")


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (object(), "object"),
        ({1: "x"}, "mapping key 1"),
        ([{"ok": {1, 2}}], "set"),
        (math.nan, "NaN"),
        (math.inf, "inf"),
    ],
)
def test_values_that_are_not_json_are_refused_at_set_time_naming_the_key(value: object, what: str) -> None:
    session = Session()
    with pytest.raises(InvalidValue, match="'my-key'") as caught:
        session.set("my-key", value)
    assert what in str(caught.value)
    assert session.get("my-key") is None
    assert not session.has_changes


def test_values_are_copied_in_and_out() -> None:
    session = Session()
    data = {"list": [1, 2]}
    session.set("k", data)
    data["list"].append(3)
    got = session.get("k")
    got["list"].append(4)
    assert session.get("k") == {"list": [1, 2]}


def test_json_like_values_round_trip_including_bytes_tuples_and_dollar_keys() -> None:
    session = Session()
    session.set("k", {"b": b"\x00\x01", "t": (1, 2), "$bytes": "x", "$$": 1, "od": OrderedDict(a=1)})
    assert session.get("k") == {"b": b"\x00\x01", "t": [1, 2], "$bytes": "x", "$$": 1, "od": {"a": 1}}


def test_deeply_nested_value_is_refused_not_a_crash() -> None:
    value: list[object] = []
    for _ in range(1000):
        value = [value]
    with pytest.raises(InvalidValue, match="nested deeper"):
        Session().set("deep", value)


def test_namespaces_are_isolated_from_each_other_and_from_shared() -> None:
    session = Session()
    session.set("k", "shared")
    lg = session.namespace("langgraph")
    oa = session.namespace("openai_agents")
    lg["k"] = "lg"
    assert oa.get("k") is None
    assert session.get("k") == "shared"
    assert lg["k"] == "lg"
    assert list(lg) == ["k"] and len(lg) == 1 and "k" in lg
    assert sorted(session.namespaces()) == ["langgraph", "shared"]


def test_the_kernels_namespace_is_read_only_to_adapters_and_tools() -> None:
    session = Session()
    set_system(session, "last_agent", "a")
    system = session.namespace(SYSTEM_NAMESPACE)
    assert system["last_agent"] == "a"
    with pytest.raises(ReadOnlyNamespace, match="read-only"):
        system["last_agent"] = "b"
    with pytest.raises(ReadOnlyNamespace):
        del system["last_agent"]
    with pytest.raises(ReadOnlyNamespace):
        system.clear()
    session.clear()
    assert system["last_agent"] == "a"


def test_bad_namespace_name_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid namespace"):
        Session().namespace("Bad Name")


def test_bad_key_is_refused() -> None:
    with pytest.raises(KeyError, match="non-empty"):
        Session().set("", 1)


def test_deletes_and_clears_are_recorded_in_the_change() -> None:
    session = Session()
    session.delete("gone")
    session.namespace("crewai").clear()
    session.namespace("crewai")["after"] = 1
    change = pending_change(session)
    assert change.deleted == {"shared": frozenset({"gone"})}
    assert change.cleared_namespaces == frozenset({"crewai"})
    assert set(change.updated["crewai"]) == {"after"}
    assert change.expected_version == 0 and change.meta.version == 1


def test_set_after_delete_and_delete_after_set_cancel_out() -> None:
    session = Session()
    session.set("k", 1)
    session.delete("k")
    change = pending_change(session)
    assert "k" not in change.updated.get("shared", {})
    assert change.deleted == {}, "a key created and deleted within one change never reaches the store"
    session.set("k", 2)
    change = pending_change(session)
    assert change.deleted == {} and session.get("k") == 2


def test_deleting_a_missing_key_from_a_namespace_mapping_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        del Session().namespace("x")["nope"]


def test_turns_are_numbered_in_order_and_counted() -> None:
    session = Session()
    first = session.append_turn(turn("one"))
    second = session.append_turn(turn("two"))
    assert (first.index, second.index) == (0, 1)
    assert session.turn_count == 2 and [t.prompt for t in session.turns] == ["one", "two"]


def test_commit_bookkeeping_folds_the_change_in() -> None:
    session = Session(name="n", tags=["t"])
    session.set("k", 1)
    session.append_turn(turn("one"))
    assert session.has_changes
    change = pending_change(session, now=123.0)
    mark_committed(session, change)
    assert not session.has_changes
    assert session.version == 1 and session.updated_at == 123.0 and session.turn_count == 1
    assert session.meta.turn_bytes == len(change.turns[0])


def test_fork_is_independent_until_adopted() -> None:
    session = Session()
    session.set("k", 1)
    work = fork(session)
    work.set("k", 2)
    work.namespace("x")["y"] = 3
    assert session.get("k") == 1 and session.namespace("x").get("y") is None
    adopt(session, work)
    assert session.get("k") == 2 and session.namespace("x")["y"] == 3


def test_absorb_pending_replays_a_callers_changes_in_order() -> None:
    caller = Session("s")
    caller.namespace("a").clear()
    caller.set("k", "v")
    caller.delete("old")
    caller.name = "renamed"
    base = Session("s")
    base.namespace("a")["stale"] = 1
    mark_committed(base, pending_change(base))
    absorb_pending(base, caller)
    change = pending_change(base)
    assert change.cleared_namespaces == {"a"}
    assert set(change.updated["shared"]) == {"k"} and change.deleted["shared"] == {"old"}
    assert base.name == "renamed" and base.get("k") == "v"


def test_clear_with_transcript_drops_turns() -> None:
    session = Session()
    session.append_turn(turn("x"))
    session.set("k", 1)
    session.clear(transcript=True)
    assert session.turns == () and session.turn_count == 0 and session.keys() == []
    assert pending_change(session).clear_transcript


def test_export_and_import_round_trip() -> None:
    session = Session("exp", user_id="u", name="N", tags=["a"])
    session.set("b", b"\x01")
    session.namespace("langgraph")["cp"] = {"$x": 1}
    session.append_turn(turn("hello"))
    copy = Session.from_dict(session.to_dict())
    strip = lambda d: {k: v for k, v in d.items() if k != "updated_at"}  # noqa: E731
    assert strip(copy.to_dict()) == strip(session.to_dict())
    assert copy.get("b") == b"\x01" and copy.namespace("langgraph")["cp"] == {"$x": 1}
    assert copy.version == 0 and copy.has_changes
    assert Session.from_dict(session.to_dict(), user_id="other").user_id == "other"


def test_import_refuses_something_else() -> None:
    with pytest.raises(ValueError, match="not an agentkernel session export"):
        Session.from_dict({"id": "x"})


def test_size_counts_state_and_turns() -> None:
    session = Session()
    empty = session.size_bytes
    session.set("k", "x" * 1000)
    assert session.size_bytes >= empty + 1000
    session.append_turn(turn("y" * 500))
    assert session.size_bytes >= empty + 1500


def test_stored_records_are_decoded_when_read_and_a_corrupt_one_names_its_session() -> None:
    from agentkernel._records import encode_turn, restore
    from agentkernel.stores import SessionMeta, StoredSession

    meta = SessionMeta(id="lazy", user_id="u", created_at=1.0, updated_at=1.0, version=1, turn_count=2)
    good_value = '{"v":2,"kind":"value","data":[1]}'
    session = restore(
        StoredSession(meta, {"shared": {"good": good_value, "bad": "{oops"}}, [encode_turn(turn("fine")), "not json"])
    )
    assert session.get("good") == [1]
    with pytest.raises(CorruptSession, match="'lazy'"):
        session.get("bad")
    history = session.recent_turns()
    assert len(history) == 2 and history[0].prompt == "fine"
    with pytest.raises(CorruptSession, match="'lazy'"):
        history[1]
