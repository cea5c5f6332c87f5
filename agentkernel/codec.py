"""Versioned JSON encoding for everything agentkernel stores. No pickle, ever.

Every stored record is a JSON object ``{"v": SCHEMA_VERSION, "kind": ..., "data": ...}``, so a
record written by another release is recognised rather than misread, and a record that is not
valid JSON, has the wrong kind or an unknown version raises
:class:`~agentkernel.errors.CorruptSession` naming its session.

Session values are JSON data plus ``bytes``. Bytes are written as ``{"$bytes": "<base64>"}``; to
keep that unambiguous, any mapping key a user writes that starts with ``$`` is stored with one
more ``$`` in front and restored on the way out.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from agentkernel.errors import CorruptSession, InvalidValue

__all__ = ["SCHEMA_VERSION", "JSONData", "check_text", "dump_record", "from_data", "load_record", "to_data"]

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
    """Wrap ``data`` (already JSON-serialisable) in a versioned envelope and encode it."""
    return json.dumps(
        {"v": SCHEMA_VERSION, "kind": kind, "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def load_record(raw: str | bytes, kind: str, *, session_id: str) -> Any:
    """Decode a record made by :func:`dump_record`, checking its version and kind.

    Raises:
        CorruptSession: the record is not JSON, is of another kind, or has a schema version
            this release does not read.
    """
    try:
        envelope = json.loads(raw)
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
