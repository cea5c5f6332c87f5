from __future__ import annotations

import json

import pytest

from agentkernel.codec import SCHEMA_VERSION, dump_record, from_data, load_record, to_data
from agentkernel.errors import CorruptSession


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
        ('{"v": 2, "kind": "value", "data": 1}', "newer agentkernel"),
        ('{"v": "x", "kind": "value", "data": 1}', "unknown version"),
        ('{"v": 1, "kind": "turn", "data": 1}', "expected a value record"),
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
