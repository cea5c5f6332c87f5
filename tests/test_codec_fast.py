"""The codec's fast path (orjson, no walk) and its careful path (walk in Python) agree on everything."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentkernel.codec import (
    SCHEMA_VERSION,
    _dump_value_carefully,
    dump_value,
    from_data,
    load_record,
    load_value,
    to_data,
)
from agentkernel.errors import CorruptSession, InvalidValue
from agentkernel.session import Session

keys = st.text(max_size=8) | st.text(max_size=6).map(lambda s: "$" + s) | st.sampled_from(["$bytes", "$$bytes", "$"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**200)
    | st.integers(min_value=-(2**200), max_value=-(2**62))
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | st.text(max_size=6).map(lambda s: "$" + s)
    | st.binary(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(keys, children, max_size=4),
    max_leaves=15,
)


def careful_value(raw: str) -> Any:
    """What the careful path reads: the standard library's parse, walked."""
    return from_data(json.loads(raw)["data"])


@given(value=json_values)
def test_the_fast_and_careful_paths_write_the_same_record(value: object) -> None:
    raw = dump_value(value, key="k")
    assert raw == _dump_value_carefully(value, key="k")
    data = json.loads(json.dumps(to_data(value, key="k")))
    assert json.loads(raw) == {"v": SCHEMA_VERSION, "kind": "value", "data": data}


@given(value=json_values)
def test_the_fast_and_careful_paths_read_the_same_value(value: object) -> None:
    raw = dump_value(value, key="k")
    expected = from_data(to_data(value, key="k"))  # tuples come back as lists
    # repr tells 1 from 1.0 and -0.0 from 0.0, which == does not
    assert repr(load_value(raw, session_id="s")) == repr(careful_value(raw)) == repr(expected)
    assert repr(load_value(raw.encode(), session_id="s")) == repr(expected)


@given(value=json_values)
def test_every_read_is_a_fresh_copy(value: object) -> None:
    raw = dump_value({"v": [value]}, key="k")
    first = load_value(raw, session_id="s")
    first["v"].append("changed")
    assert load_value(raw, session_id="s") == {"v": [from_data(to_data(value, key="k"))]}


@dataclasses.dataclass
class Point:
    x: int


class Colour(enum.Enum):
    RED = "red"


BAD: list[tuple[object, str]] = [
    (math.nan, "NaN"),
    (math.inf, "infinity"),
    (-math.inf, "infinity"),
    ({1: "a"}, "mapping key 1"),
    ({None: "a"}, "mapping key None"),
    ("a\ud800b", "unpaired surrogate"),
    ({"\udfff": 1}, "unpaired surrogate"),
    (10**5000, "too long"),
    (object(), "not JSON data"),
    (uuid.UUID(int=1), "UUID"),
    (Colour.RED, "Colour"),
    (datetime.datetime(2026, 1, 1), "datetime"),
    (Point(1), "Point"),
    ({1, 2}, "set"),
]
WRAPS: list[Callable[[object, object], object]] = [
    lambda value, bad: bad,
    lambda value, bad: [value, bad],
    lambda value, bad: {"k": value, "bad": bad},
    lambda value, bad: {"$a": [value, (bad,)]},
    lambda value, bad: {"ok": value, "deeper": [{"x": bad}]},
]


@given(value=json_values, bad=st.sampled_from(BAD), wrap=st.sampled_from(WRAPS))
def test_every_refusal_still_happens_naming_the_key(
    value: object, bad: tuple[object, str], wrap: Callable[[object, object], object]
) -> None:
    thing, why = bad
    wrapped = wrap(value, thing)
    for encode in (dump_value, _dump_value_carefully):
        with pytest.raises(InvalidValue, match="'the-key'") as caught:
            encode(wrapped, key="the-key")
        assert why in str(caught.value)
    session = Session("s")
    with pytest.raises(InvalidValue, match="'the-key'"):
        session.set("the-key", wrapped)
    assert not session.has_changes
    assert session.get("the-key") is None


def test_too_deep_is_refused_on_both_paths_and_just_deep_enough_is_kept() -> None:
    deep: object = 1
    for _ in range(257):
        deep = [deep]
    for encode in (dump_value, _dump_value_carefully):
        with pytest.raises(InvalidValue, match="deeper than 256"):
            encode(deep, key="k")
    ok: object = 1
    for _ in range(256):
        ok = [ok]
    assert load_value(dump_value(ok, key="k"), session_id="s") == ok


@pytest.mark.parametrize("number", [2**63, 2**64, -(2**63) - 1, 10**30, -(10**40), 9_999_999_999_999_999_999])
def test_integers_beyond_64_bits_read_back_as_integers(number: int) -> None:
    record = f'{{"v":{SCHEMA_VERSION},"kind":"value","data":{{"n":[{number}]}}}}'
    for raw in (dump_value({"n": [number]}, key="k"), record):
        value = load_value(raw, session_id="s")
        assert value == {"n": [number]} and type(value["n"][0]) is int


def test_an_escaped_dollar_in_a_record_from_elsewhere_is_still_unescaped() -> None:
    raw = '{"v":VERSION,"kind":"value","data":{"\\u0024\\u0024key":1,"b":{"\\u0024bytes":"aGk="}}}'
    raw = raw.replace("VERSION", str(SCHEMA_VERSION))
    assert load_value(raw, session_id="s") == {"$key": 1, "b": b"hi"} == careful_value(raw)


def test_a_record_the_standard_library_reads_but_orjson_does_not_reads_as_before() -> None:
    raw = '{"v":VERSION,"kind":"value","data":"\\ud800"}'.replace("VERSION", str(SCHEMA_VERSION))  # a lone surrogate
    assert load_value(raw, session_id="s") == json.loads(raw)["data"]


@pytest.mark.parametrize("raw", ["{nope", b"\xff\xfe", '{"v":1,"kind":"turn","data":1}', "[1, 2"])
def test_a_bad_value_record_raises_corrupt_session_naming_it(raw: str | bytes) -> None:
    with pytest.raises(CorruptSession) as caught:
        load_value(raw, session_id="sess-9")
    assert caught.value.session_id == "sess-9"
    with pytest.raises(CorruptSession):
        load_record(raw, "value", session_id="sess-9")
