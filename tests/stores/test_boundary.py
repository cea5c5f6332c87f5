"""The line between sessions and stores: what crosses it is encoded, and stores import nothing above it.

Stores receive a :class:`SessionChange` of encoded records and return a :class:`StoredSession` of
records still encoded; encoding and decoding happen in the kernel (``agentkernel._records``, used by
``Sessions``). Optional store abilities are sub-protocols checked with a ``TypeGuard``.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentkernel.stores
from agentkernel import Session, Sessions
from agentkernel.runner import Runner
from agentkernel.settings import load_settings
from agentkernel.stores import (
    InMemoryStore,
    SessionChange,
    SessionMeta,
    StoredSession,
    SupportsSetup,
    supports_setup,
)
from agentkernel.testing import ScriptedAgent, sample_turn

STORES = Path(agentkernel.stores.__file__).parent
ABOVE_STORES = {"agentkernel.session", "agentkernel.sessions", "agentkernel._records", "agentkernel.runner"}


class RecordingStore(InMemoryStore):
    """An in-memory store that keeps every change it is asked to commit and every load it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[SessionChange] = []
        self.loads: list[StoredSession | None] = []

    async def commit(self, change: SessionChange) -> None:
        self.changes.append(change)
        await super().commit(change)

    async def load(self, user_id: str, session_id: str, *, last_turns: int | None = None) -> StoredSession | None:
        stored = await super().load(user_id, session_id, last_turns=last_turns)
        self.loads.append(stored)
        return stored


def _only_encoded(change: SessionChange) -> None:
    """Every record in ``change`` is a string; the rest is plain header data a store indexes by."""
    assert type(change.header) is str
    assert all(type(raw) is str for raw in change.turns)
    for name, records in change.updated.items():
        assert type(name) is str
        assert all(type(key) is str and type(raw) is str for key, raw in records.items())
    for name, keys in change.deleted.items():
        assert type(name) is str and all(type(key) is str for key in keys)
    assert all(type(name) is str for name in change.cleared_namespaces)
    assert type(change.meta) is SessionMeta
    for meta_field in dataclasses.fields(SessionMeta):
        value = getattr(change.meta, meta_field.name)
        assert value is None or type(value) in (str, int, float, tuple), (meta_field.name, value)
    assert all(type(tag) is str for tag in change.meta.tags)
    assert SessionMeta.from_record(change.header, session_id=change.session_id) == change.meta


finite = st.floats(allow_nan=False, allow_infinity=False)
json_leaves = st.none() | st.booleans() | st.integers() | finite | st.text() | st.binary()
values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shared=st.dictionaries(st.text(min_size=1, max_size=12), values, max_size=4), framework=values)
async def test_a_store_receives_only_encoded_records_and_loads_them_back(
    shared: dict[str, Any], framework: Any
) -> None:
    store = RecordingStore()
    sessions = Sessions(store)
    session = Session("enc", user_id="u", name="n", tags=["t"])
    for key, value in shared.items():
        session.set(key, value)
    session.namespace("langgraph")["memory"] = framework
    session.append_turn(sample_turn("hi"))
    await sessions.save(session)
    session.delete(next(iter(shared), "absent"))
    session.namespace("crewai").clear()
    await sessions.save(session)

    assert len(store.changes) == 2
    for change in store.changes:
        _only_encoded(change)
    loaded = await sessions.get("enc", user_id="u")
    stored = store.loads[-1]
    assert stored is not None
    assert all(type(raw) in (str, bytes) for raw in stored.turns)
    assert all(type(raw) in (str, bytes) for records in stored.values.values() for raw in records.values())
    assert loaded.namespace("langgraph")["memory"] == session.namespace("langgraph")["memory"]
    assert dict(loaded.namespace("shared")) == dict(session.namespace("shared"))


async def test_the_runner_commits_through_sessions_and_hands_stores_only_encoded_changes() -> None:
    store = RecordingStore()
    runner = Runner(store, settings=load_settings())
    session = Session("ran")
    session.set("before", b"\x00bytes")
    await runner.run(ScriptedAgent(), session, "hello")
    await runner.run(ScriptedAgent(), "ran", "again")
    assert len(store.changes) == 2 and len(store.loads) >= 2
    for change in store.changes:
        _only_encoded(change)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_store_modules_import_nothing_from_the_session_side() -> None:
    modules = sorted(STORES.rglob("*.py"))
    assert len(modules) > 10  # memory, the protocol, and the redis and dynamodb packages
    for path in modules:
        wrong = {name for name in _imports(path) if any(name == m or name.startswith(m + ".") for m in ABOVE_STORES)}
        assert not wrong, f"{path.relative_to(STORES.parent)} imports {sorted(wrong)}"


def test_an_application_sees_no_store_plumbing_on_a_session() -> None:
    public = {name for name in dir(Session) if not name.startswith("_")}
    assert public == {
        "append_turn", "clear", "created_at", "delete", "from_dict", "get", "has_changes", "id", "keys", "meta",
        "name", "namespace", "namespaces", "recent_turns", "set", "size_bytes", "tags", "to_dict", "turn_count",
        "turns", "updated_at", "user_id", "version",
    }  # fmt: skip
    for plumbing in ("change", "mark_committed", "fork", "adopt", "absorb_pending", "restore"):
        assert not hasattr(Session, plumbing), plumbing


# ------------------------------------------------------------------------------ optional abilities
class TableStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.made = False

    async def setup(self) -> bool:
        made, self.made = not self.made, True
        return made


def test_setup_is_an_optional_ability_checked_with_a_typeguard() -> None:
    plain, table = InMemoryStore(), TableStore()
    assert not supports_setup(plain) and not isinstance(plain, SupportsSetup)
    assert supports_setup(table) and isinstance(table, SupportsSetup)


async def test_a_store_with_setup_narrows_to_the_sub_protocol() -> None:
    store: object = TableStore()
    assert supports_setup(store)
    assert await store.setup() is True  # typed as SupportsSetup here, no getattr
    assert await store.setup() is False
