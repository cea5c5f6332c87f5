from __future__ import annotations

import pickle
from typing import Any

import pytest
from agentkernel_langgraph import NamespaceSaver, safe_serializer
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agentkernel import Session
from agentkernel.codec import to_data

THREAD = "thread-1"


def config(checkpoint_id: str | None = None, ns: str = "") -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": THREAD, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def checkpoint(n: int, messages: list[str]) -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = f"cp-{n:03d}"
    cp["channel_values"] = {"messages": [HumanMessage(m) for m in messages], "step": n}
    cp["channel_versions"] = {"messages": n, "step": n}
    return cp


def fill(saver: NamespaceSaver, count: int, ns: str = "") -> RunnableConfig:
    parent = config(ns=ns)
    for n in range(1, count + 1):
        cp = checkpoint(n, [f"m{i}" for i in range(n)])
        parent = saver.put(parent, cp, {"step": n, "source": "loop"}, {"messages": n, "step": n})
    return parent


@pytest.fixture
def state() -> Any:
    return Session(THREAD).namespace("langgraph")


def test_empty_saver_has_no_checkpoint(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD)
    assert saver.get_tuple(config()) is None
    assert list(saver.list(config())) == []


def test_round_trip_with_parent_and_pending_writes(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD, prefix="g/")
    latest = fill(saver, 2)
    saver.put_writes(latest, [("messages", [HumanMessage("pending")]), ("step", 9)], task_id="t1", task_path="~a")
    found = saver.get_tuple(config())
    assert found is not None
    assert found.config["configurable"]["checkpoint_id"] == "cp-002"
    assert found.parent_config is not None
    assert found.parent_config["configurable"]["checkpoint_id"] == "cp-001"
    assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == ["m0", "m1"]
    assert found.metadata["step"] == 2
    assert found.pending_writes is not None
    assert [(t, c) for t, c, _ in found.pending_writes] == [("t1", "messages"), ("t1", "step")]
    older = saver.get_tuple(config("cp-001"))
    assert older is not None
    assert older.checkpoint["channel_values"]["step"] == 1
    assert all(key.startswith("g/") for key in state)


def test_a_retried_task_keeps_its_first_writes(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD)
    latest = fill(saver, 1)
    saver.put_writes(latest, [("step", 1)], task_id="t1")
    saver.put_writes(latest, [("step", 2)], task_id="t1")
    saver.put_writes(latest, [("__error__", "first")], task_id="t2")
    saver.put_writes(latest, [("__error__", "second")], task_id="t2")  # special channels are replaced
    found = saver.get_tuple(config())
    assert found is not None
    assert found.pending_writes == [("t1", "step", 1), ("t2", "__error__", "second")]


def test_keeps_the_latest_and_a_bounded_number_of_earlier_checkpoints(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD, keep=2)
    latest = fill(saver, 6)
    saver.put_writes(latest, [("step", 1)], task_id="t")
    assert [t.config["configurable"]["checkpoint_id"] for t in saver.list(config())] == ["cp-006", "cp-005", "cp-004"]
    assert saver.get_tuple(config("cp-003")) is None
    # Values and writes of dropped checkpoints are gone too; only three of each remain.
    assert len([k for k in state if k.startswith("blob/")]) == 6
    assert sorted(k for k in state if k.startswith("ckpt/")) == ["ckpt//cp-004", "ckpt//cp-005", "ckpt//cp-006"]
    with pytest.raises(ValueError, match="keep"):
        NamespaceSaver(state, thread_id=THREAD, keep=-1)


def test_list_filters_like_langgraph(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD, keep=10)
    fill(saver, 4)
    fill(saver, 1, ns="sub:1")
    ids = [t.config["configurable"]["checkpoint_id"] for t in saver.list(config(), limit=2)]
    assert ids == ["cp-004", "cp-003"]
    before = [t.config["configurable"]["checkpoint_id"] for t in saver.list(config(), before=config("cp-003"))]
    assert before == ["cp-002", "cp-001"]
    filtered = list(saver.list(config(), filter={"step": 2}))
    assert [t.metadata["step"] for t in filtered] == [2]
    assert len(list(saver.list(None))) == 5  # every checkpoint namespace
    assert len(list(saver.list({"configurable": {"thread_id": "other"}}))) == 0


def test_serves_its_own_thread_only(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD)
    other: RunnableConfig = {"configurable": {"thread_id": "someone-else", "checkpoint_ns": ""}}
    with pytest.raises(ValueError, match="serves thread 'thread-1'"):
        saver.put(other, checkpoint(1, []), {}, {})
    fill(saver, 1)
    assert saver.get_tuple(other) is None


def test_delete_thread_removes_only_its_own_keys(state: Any) -> None:
    state["another-agent/index"] = {"": []}
    saver = NamespaceSaver(state, thread_id=THREAD, prefix="g/")
    fill(saver, 3)
    saver.delete_thread("not-mine")
    assert saver.get_tuple(config()) is not None
    saver.delete_thread(THREAD)
    assert list(state) == ["another-agent/index"]


async def test_async_methods_match_the_sync_ones(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD)
    latest = await saver.aput(config(), checkpoint(1, ["hi"]), {"step": 1}, {"messages": 1, "step": 1})
    await saver.aput_writes(latest, [("step", 5)], task_id="t")
    found = await saver.aget_tuple(config())
    assert found is not None
    assert found.pending_writes == [("t", "step", 5)]
    assert [t.checkpoint["id"] async for t in saver.alist(config())] == ["cp-001"]
    await saver.adelete_thread(THREAD)
    assert await saver.aget_tuple(config()) is None


def test_everything_stored_is_json_data_or_bytes(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD)
    fill(saver, 2)
    for key in state:
        to_data(state[key], key=key)  # raises InvalidValue for anything else


class Opaque:
    def __init__(self) -> None:
        self.secret = 42


def test_pickle_fallback_is_off() -> None:
    serde = safe_serializer()
    assert isinstance(serde, JsonPlusSerializer)
    assert serde.pickle_fallback is False
    with pytest.raises(TypeError):
        serde.dumps_typed(Opaque())
    with pytest.raises(NotImplementedError):
        serde.loads_typed(("pickle", pickle.dumps(1)))  # a stored pickle is refused, not loaded


def test_saver_refuses_values_that_need_pickle_naming_the_channel(state: Any) -> None:
    saver = NamespaceSaver(state, thread_id=THREAD)
    cp = checkpoint(1, [])
    cp["channel_values"]["thing"] = Opaque()
    with pytest.raises(TypeError, match="cannot store channel 'thing' of the graph's state without pickle"):
        saver.put(config(), cp, {}, {"thing": 1})
    assert list(state) == []
