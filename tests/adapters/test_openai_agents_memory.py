"""NamespaceSession: the Agents SDK's Session protocol over the adapter's namespace."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from agentkernel_openai_agents import NamespaceSession, OpenAIAgentsAdapter, build_run_config
from agents.memory import Session as SDKSession
from agents.memory import SessionSettings

from agentkernel.errors import InvalidValue, MissingDependency
from agentkernel.session import Session


def item(n: int) -> Any:
    return {"role": "user", "content": f"m{n}"}


async def filled(count: int, chunk_size: int = 3, state: dict[str, Any] | None = None) -> NamespaceSession:
    memory = NamespaceSession({} if state is None else state, "s1", agent="coach", chunk_size=chunk_size)
    for n in range(count):  # one at a time, as the SDK adds them, so chunks fill gradually
        await memory.add_items([item(n)])
    return memory


def test_implements_the_sdk_session_protocol() -> None:
    memory = NamespaceSession({}, "s1", agent="coach")
    assert isinstance(memory, SDKSession)
    assert memory.session_id == "s1"


@pytest.mark.parametrize("limit", [None, 0, 1, 2, 3, 4, 7, 10, 50])
async def test_get_items_returns_the_newest_limit_items_in_order(limit: int | None) -> None:
    memory = await filled(10)
    expected = [item(n) for n in range(10)]
    if limit is not None:
        expected = expected[len(expected) - limit :] if limit else []
    assert await memory.get_items(limit) == expected


async def test_add_items_in_batches_keeps_order_across_chunks() -> None:
    memory = NamespaceSession({}, "s1", agent="coach", chunk_size=4)
    await memory.add_items([item(0), item(1), item(2)])
    await memory.add_items([item(3), item(4), item(5), item(6), item(7), item(8)])
    await memory.add_items([])
    assert await memory.get_items() == [item(n) for n in range(9)]
    assert memory.count == 9


async def test_adding_rewrites_only_the_last_chunk() -> None:
    state: dict[str, Any] = {}
    memory = await filled(7, chunk_size=3, state=state)  # chunks 0 and 1 full, chunk 2 holds one
    before = {key: list(value) for key, value in state.items() if "/items/" in key}
    written: list[str] = []

    class Recording(dict[str, Any]):
        def __setitem__(self, key: str, value: Any) -> None:
            written.append(key)
            super().__setitem__(key, value)

    recording = Recording(state)
    memory = NamespaceSession(recording, "s1", agent="coach", chunk_size=3)
    await memory.add_items([item(7)])
    assert sorted(written) == ["coach/count", "coach/items/2"]
    assert all(recording[key] == value for key, value in before.items() if key != "coach/items/2")


async def test_pop_item_removes_the_newest() -> None:
    state: dict[str, Any] = {}
    memory = await filled(4, chunk_size=3, state=state)
    assert await memory.pop_item() == item(3)
    assert "coach/items/1" not in state  # the emptied chunk is gone
    assert await memory.pop_item() == item(2)
    assert await memory.get_items() == [item(0), item(1)]
    await memory.add_items([item(9)])
    assert await memory.get_items(2) == [item(1), item(9)]


async def test_pop_item_on_an_empty_session_is_none() -> None:
    memory = NamespaceSession({}, "s1", agent="coach")
    assert await memory.pop_item() is None
    assert await memory.get_items() == []


async def test_clear_session_removes_this_agents_items_only() -> None:
    state: dict[str, Any] = {}
    coach = await filled(5, state=state)
    other = NamespaceSession(state, "s1", agent="other/agent")
    await other.add_items([item(99)])
    await coach.clear_session()
    assert await coach.get_items() == []
    assert await other.get_items() == [item(99)]
    assert all(not key.startswith("coach/") for key in state)
    assert "other%2Fagent/count" in state  # names are encoded so they cannot collide


async def test_session_settings_limit_applies_when_no_limit_is_given() -> None:
    memory = await filled(5)
    memory.session_settings = SessionSettings(limit=2)
    assert await memory.get_items() == [item(3), item(4)]
    assert await memory.get_items(3) == [item(2), item(3), item(4)]


async def test_over_a_session_namespace_items_must_be_json() -> None:
    namespace = Session().namespace("openai_agents")
    memory = NamespaceSession(namespace, "s1", agent="coach")
    await memory.add_items([item(0)])
    assert await memory.get_items() == [item(0)]
    with pytest.raises(InvalidValue):
        await memory.add_items([item(0) | {"content": object()}])


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        NamespaceSession({}, "s1", agent="coach", chunk_size=0)


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agents", None)
    with pytest.raises(MissingDependency, match=r"pip install 'agentkernel\[openai-agents\]'"):
        build_run_config({})
    assert OpenAIAgentsAdapter().recognizes(object()) is False  # objects of other modules never import it


class Reads(dict[str, Any]):
    """A namespace that records which keys are read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.append(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.append(key)
        return super().__getitem__(key)


@pytest.mark.parametrize(("limit", "chunks"), [(1, ["coach/items/33"]), (3, ["coach/items/32", "coach/items/33"])])
async def test_get_items_reads_only_the_chunks_holding_the_window(limit: int, chunks: list[str]) -> None:
    state = Reads()
    memory = await filled(100, chunk_size=3, state=state)  # 34 chunks, the last holding one item
    state.read.clear()
    assert await memory.get_items(limit) == [item(n) for n in range(100 - limit, 100)]
    assert state.read == ["coach/count", *chunks]
