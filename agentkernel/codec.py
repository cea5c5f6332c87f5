"""Versioned JSON encoding for everything agentkernel stores. No pickle, ever.

Every stored record is a JSON object ``{"v": SCHEMA_VERSION, "kind": ..., "data": ...}``, so a
record written by another release is recognised rather than misread, and a record that is not
valid JSON, has the wrong kind or an unknown version raises
:class:`~agentkernel.errors.CorruptSession` naming its session.

Session values are JSON data plus ``bytes``. Bytes are written as ``{"$bytes": "<base64>"}``; to
keep that unambiguous, any mapping key a user writes that starts with ``$`` is stored with one
more ``$`` in front and restored on the way out.

Speed: records are written and read with orjson. A value whose JSON text holds no string starting
with ``$`` (so no escaped key and no bytes) is stored as orjson writes it and read back as orjson
parses it; only values that need the ``$`` handling, or that orjson cannot take exactly as the
standard library would (integers beyond 64 bits, deep nesting, lone surrogates), take the careful
path that walks the value in Python. Both paths give the same record and the same value.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any, TypeAlias

import orjson

from agentkernel.errors import CorruptSession, InvalidValue

__all__ = [
    "SCHEMA_VERSION",
    "JSONData",
    "check_text",
    "dump_record",
    "dump_value",
    "from_data",
    "load_record",
    "load_value",
    "to_data",
]

SCHEMA_VERSION = 2
"""The format version written into every record. Bump it, with a migration, when a record changes."""

JSONData: TypeAlias = bool | int | float | str | list["JSONData"] | dict[str, "JSONData"] | None

_BYTES = "$bytes"
_MAX_DEPTH = 256


def to_data(value: object, *, key: str) -> JSONData:
    """Check that ``value`` is JSON data or bytes and return its storable form (a deep copy).

    Args:
        value: The value to store.
        key: The key it is stored under, named in the error if the value is refused.

    Raises:
        InvalidValue: ``value`` holds something other than None, bool, int, finite float, str,
            bytes, list, tuple or a mapping with string keys.
    """
    return _encode(value, key, 0)


_MAX_INT_BITS = 14_000
"""Integers longer than this (about 4,200 digits) may not convert to JSON text; Python caps that at 4,300 digits."""


def check_text(text: str, *, what: str) -> str:
    """Refuse text that cannot be stored as UTF-8 (a lone surrogate, as ``"\\ud800"`` in JSON decodes to).

    Raises:
        InvalidValue: ``text`` holds an unpaired surrogate; ``what`` says where it was found.
    """
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidValue(
                f"{what} holds an unpaired surrogate ({text[exc.start]!a} at position {exc.start}), which is "
                "not valid Unicode text; send UTF-8 text (or bytes, for binary data)"
            ) from None
    return text


def _encode(value: object, key: str, depth: int) -> JSONData:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return check_text(value, what=f"value for key {key!r}")
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            raise InvalidValue(
                f"value for key {key!r} is an integer of {value.bit_length()} bits, too long to store as JSON "
                "text; store it as a str"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(f"value for key {key!r} holds {value!r}; JSON has no NaN or infinity")
        return value
    if depth >= _MAX_DEPTH:
        raise InvalidValue(f"value for key {key!r} is nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [_encode(item, key, depth + 1) for item in value]
    if isinstance(value, Mapping):
        out: dict[str, JSONData] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidValue(
                    f"value for key {key!r} has a mapping key {k!r} of type {type(k).__name__}; "
                    "JSON object keys must be strings"
                )
            check_text(k, what=f"a mapping key in the value for key {key!r}")
            out["$" + k if k.startswith("$") else k] = _encode(v, key, depth + 1)
        return out
    raise InvalidValue(
        f"value for key {key!r} is a {type(value).__name__}, which is not JSON data; store "
        "dicts, lists, str, int, float, bool, None or bytes (convert objects with "
        "model_dump() or a to_dict() of your own)"
    )


def from_data(data: JSONData) -> Any:
    """Turn the storable form made by :func:`to_data` back into the value (a fresh copy)."""
    if isinstance(data, list):
        return [from_data(item) for item in data]
    if isinstance(data, dict):
        if len(data) == 1 and _BYTES in data:
            encoded = data[_BYTES]
            if isinstance(encoded, str):
                return base64.b64decode(encoded)
        return {(k[1:] if k.startswith("$") else k): from_data(v) for k, v in data.items()}
    return data


def dump_record(kind: str, data: object) -> str:
    """Wrap ``data`` (already JSON-serialisable) in a versioned envelope and encode it.

    Raises:
        ValueError: ``data`` holds NaN or infinity.
    """
    return json.dumps(
        {"v": SCHEMA_VERSION, "kind": kind, "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


_VALUE_HEAD = f'{{"v":{SCHEMA_VERSION},"kind":"value","data":'
# orjson hands these to ``default`` (there is none, so it refuses them) instead of converting them.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def dump_value(value: object, *, key: str) -> str:
    """Check ``value`` as :func:`to_data` does and encode it as a versioned ``value`` record.

    The fast path lets orjson write the value and checks that it reads back equal, which refuses
    (sending the value down the careful path, which raises) everything orjson would change rather
    than refuse: NaN and infinity (written as null), UUIDs and enums (written as their values).

    Raises:
        InvalidValue: as :func:`to_data`.
    """
    try:
        body = orjson.dumps(value, option=_PASSTHROUGH)
    except (orjson.JSONEncodeError, TypeError):
        return _dump_value_carefully(value, key=key)
    if b'"$' in body or orjson.loads(body) != value:
        return _dump_value_carefully(value, key=key)
    return _VALUE_HEAD + body.decode() + "}"


def _dump_value_carefully(value: object, *, key: str) -> str:
    """:func:`dump_value` by walking the value (:func:`to_data`); the same record where both apply."""
    data = to_data(value, key=key)
    try:
        return _VALUE_HEAD + orjson.dumps(data).decode() + "}"
    except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits, nesting beyond orjson's limit
        return dump_record("value", data)


def load_value(raw: str | bytes, *, session_id: str) -> Any:
    """Decode a ``value`` record made by :func:`dump_value` into a fresh copy of the value.

    Raises:
        CorruptSession: as :func:`load_record`.
    """
    data = load_record(raw, "value", session_id=session_id)
    if isinstance(raw, str):
        plain = "$" not in raw and "\\u0024" not in raw
    else:
        plain = b"$" not in raw and b"\\u0024" not in raw
    # Without a ``$`` there is no escaped key and no bytes: the parsed data is the value.
    return data if plain else from_data(data)


# A run of 19 digits or more may be a number orjson reads as a float where json reads an int. A run
# inside a string counts too, which only costs that record the slower parse. (Mapping every digit
# to "0" and searching for 19 zeros is several times faster than a regular expression.)
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_LONG_RUN = b"0" * 19


def _has_long_number(raw: str | bytes) -> bool:
    text = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    return _LONG_RUN in text.translate(_DIGITS_AS_ZERO)


def _parse(raw: str | bytes) -> Any:
    """JSON text as Python data: orjson, or the standard library where orjson would differ."""
    if not _has_long_number(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library reads what it reads (an escaped lone surrogate) and words the error
    return json.loads(raw)


def load_record(raw: str | bytes, kind: str, *, session_id: str) -> Any:
    """Decode a record made by :func:`dump_record`, checking its version and kind.

    Raises:
        CorruptSession: the record is not JSON, is of another kind, or has a schema version
            this release does not read.
    """
    try:
        envelope = _parse(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptSession(session_id, f"{kind} record is not valid JSON: {exc}") from None
    if not isinstance(envelope, dict) or "v" not in envelope or "data" not in envelope:
        raise CorruptSession(session_id, f"{kind} record has no version envelope")
    version = envelope["v"]
    if version != SCHEMA_VERSION:
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        why = "a newer agentkernel wrote it" if newer else "unknown version"
        raise CorruptSession(
            session_id, f"{kind} record has schema version {version!r} ({why}); this release reads {SCHEMA_VERSION}"
        )
    if envelope.get("kind") != kind:
        raise CorruptSession(session_id, f"expected a {kind} record, found {envelope.get('kind')!r}")
    return envelope["data"]
