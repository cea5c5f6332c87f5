from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkernel.codec import SCHEMA_VERSION, dump_record, from_data, load_record, to_data
from agentkernel.errors import CorruptSession, InvalidValue
from agentkernel.session import Session


def test_records_carry_the_schema_version_and_kind() -> None:
    raw = dump_record("value", {"a": 1})
    assert json.loads(raw) == {"v": SCHEMA_VERSION, "kind": "value", "data": {"a": 1}}
    assert load_record(raw, "value", session_id="s") == {"a": 1}


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("{nope", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ('{"kind": "value", "data": 1}', "no version envelope"),
        (f'{{"v": {SCHEMA_VERSION + 1}, "kind": "value", "data": 1}}', "newer agentkernel"),
        ('{"v": 1, "kind": "value", "data": 1}', "schema version 1"),
        ('{"v": "x", "kind": "value", "data": 1}', "unknown version"),
        (f'{{"v": {SCHEMA_VERSION}, "kind": "turn", "data": 1}}', "expected a value record"),
    ],
)
def test_bad_records_raise_corrupt_session_naming_the_session(raw: str | bytes, detail: str) -> None:
    with pytest.raises(CorruptSession, match=detail) as caught:
        load_record(raw, "value", session_id="sess-1")
    assert caught.value.session_id == "sess-1" and "sess-1" in str(caught.value)


def test_bytes_and_dollar_keys_are_unambiguous() -> None:
    value = {"$bytes": "aGk=", "raw": b"hi", "nested": [{"$": b""}]}
    data = to_data(value, key="k")
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert from_data(data) == value


def test_no_pickle_anywhere_in_the_library() -> None:
    from pathlib import Path

    import agentkernel

    root = Path(agentkernel.__file__).parent
    offenders = [
        str(path)
        for path in root.rglob("*.py")
        for line in path.read_text().splitlines()
        if line.strip().startswith(("import pickle", "from pickle", "import dill", "import cloudpickle"))
    ]
    assert offenders == []


_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@given(prefix=st.text(), surrogate=_SURROGATES, suffix=st.text())
def test_text_with_an_unpaired_surrogate_is_refused_when_set(prefix: str, surrogate: str, suffix: str) -> None:
    bad = prefix + surrogate + suffix
    for value in (bad, [1, bad], {"k": bad}, {bad: 1}):
        with pytest.raises(InvalidValue, match="unpaired surrogate"):
            to_data(value, key="k")
    session = Session("s")
    with pytest.raises(InvalidValue):
        session.set("k", bad)
    with pytest.raises(InvalidValue):
        session.set(bad, 1)
    with pytest.raises(InvalidValue):
        session.name = bad
    with pytest.raises(InvalidValue):
        session.tags = ["ok", bad]
    assert not session.has_changes


@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=10,
))
def test_valid_json_data_round_trips(value: object) -> None:
    data = to_data(value, key="k")
    assert from_data(json.loads(json.dumps(data))) == value


def test_an_integer_too_long_for_json_text_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidValue, match=r"'big'.*store it as a str"):
        to_data(10**5000, key="big")
    assert to_data(10**4000, key="ok") == 10**4000
