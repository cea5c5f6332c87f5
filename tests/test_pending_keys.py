"""A change carries only what the store must do: keys created and removed within it never reach it."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkernel._records import pending_change
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.stores import InMemoryStore

KEYS = st.sampled_from(["a", "b", "c", "d"])
NAMESPACES = st.sampled_from(["shared", "langgraph"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), NAMESPACES, KEYS, st.integers(0, 9)),
        st.tuples(st.just("delete"), NAMESPACES, KEYS, st.just(0)),
        st.tuples(st.just("clear"), NAMESPACES, st.just(""), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(stored=st.dictionaries(st.tuples(NAMESPACES, KEYS), st.integers(0, 9), max_size=6), ops=OPS)
def test_a_change_writes_exactly_the_difference_and_no_key_the_store_never_held(
    stored: dict[tuple[str, str], int], ops: list[tuple[str, str, str, int]]
) -> None:
    store = InMemoryStore()
    sessions = Sessions(store)
    session = Session("p")
    for (namespace, key), value in stored.items():
        session.namespace(namespace)[key] = value
    asyncio.run(sessions.save(session))
    model = dict(stored)
    created: set[tuple[str, str]] = set()  # keys this change brought into being (first touched by a set)
    touched: set[tuple[str, str]] = set()
    for op, namespace, key, value in ops:
        space = session.namespace(namespace)
        if op != "clear" and (namespace, key) not in touched:
            touched.add((namespace, key))
            if op == "set" and (namespace, key) not in model:
                created.add((namespace, key))
        if op == "set":
            space[key] = value
            model[(namespace, key)] = value
        elif op == "delete":
            if key in space:
                del space[key]
            else:
                session._delete(namespace, key)  # deleting an absent key is allowed below the mapping
            model.pop((namespace, key), None)
        else:
            space.clear()
            model = {k: v for k, v in model.items() if k[0] != namespace}
            touched = {k for k in touched if k[0] != namespace}
            created = {k for k in created if k[0] != namespace}

    change = pending_change(session)
    for namespace, keys in change.deleted.items():
        for key in keys:
            # A delete of a key never held is carried as asked (harmless); one of a key this change
            # itself created vanishes with it.
            assert (namespace, key) not in created, f"{namespace}/{key} was created and deleted, yet reached the store"
            assert (namespace, key) not in model
    for namespace, values in change.updated.items():
        for key in values:
            assert (namespace, key) in model, f"{namespace}/{key} ends deleted, yet the change writes it"

    asyncio.run(sessions.save(session))
    loaded = asyncio.run(sessions.get("p"))
    held = {(ns, key): loaded.namespace(ns)[key] for ns in loaded.namespaces() for key in loaded.namespace(ns)}
    assert held == model
