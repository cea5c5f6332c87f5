"""Item layout of the DynamoDB store: sort keys, and how a record becomes item attributes.

A session is stored under its owner and its id together: every item of a session has
``<user id>/<session id>`` as partition key (``pk``; neither id can hold ``/``), so two users'
sessions of the same id share no item, not even the lease. Sort keys (``sk``)::

    meta                                  the header; decides whether the session exists
    lease                                 the run lease
    g#<gen>#v#<ns>#<epoch>#<key hash>     a namespace value
    g#<gen>#t#<epoch>#<index:012>         a turn (zero-padded, so sort order is transcript order)
    g#<gen>#c#<nonce>#<i:05>              chunk ``i`` of a record too big for one item

``gen`` is the session's life (``SessionMeta.life``), drawn at random when the session is created;
items of an earlier life of the same id (expired or deleted) have another ``gen`` and are never
read, and a commit is written only if the header still holds the life it was prepared in. A namespace's ``epoch`` and
the transcript's ``epoch`` are the version at which they were last cleared (0: never), so clearing
them is one write to the header. Keys are hashed in the sort key (they may be long and hold any
character) and kept whole in the ``k`` attribute.

A record's bytes are stored in ``d`` (binary), zlib-compressed when that helps (``z``). A record
that does not fit in one item is split into chunk items written before the commit under a fresh
``nonce``; the head item then holds ``n`` (chunk count) and ``cn`` (the nonce) instead of ``d``.
Items written before their commit's transaction (staged) carry ``at``, when they were staged.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentkernel.errors import CorruptSession

__all__ = [
    "LEASE_SK",
    "META_SK",
    "STAGED_AT",
    "Item",
    "Packed",
    "chunk_count",
    "chunk_prefix",
    "chunk_sk",
    "gen_prefix",
    "item_size",
    "namespace_prefix",
    "new_gen",
    "new_nonce",
    "pack",
    "partition_key",
    "session_of",
    "payload_attrs",
    "turn_prefix",
    "turn_sk",
    "unpack",
    "value_prefix",
    "value_sk",
]

Item = dict[str, Any]
"""One item in DynamoDB's typed JSON form: ``{"pk": {"S": "..."}, ...}``."""

META_SK = "meta"
LEASE_SK = "lease"

STAGED_AT = "at"
"""Attribute of items written before their commit's transaction: when (Unix seconds) they were staged."""


def partition_key(user_id: str, session_id: str) -> str:
    """The partition key of ``user_id``'s session ``session_id``."""
    return f"{user_id}/{session_id}"


def session_of(pk: str) -> str:
    """The session id in a partition key made by :func:`partition_key`."""
    return pk.partition("/")[2]


def new_gen() -> str:
    """A fresh random generation for a newly created session."""
    return secrets.token_hex(6)


def new_nonce() -> str:
    """A fresh random name for the chunks of one record."""
    return secrets.token_hex(8)


def gen_prefix(gen: str) -> str:
    """Prefix of every data item of one generation."""
    return f"g#{gen}#"


def value_prefix(gen: str) -> str:
    """Prefix of every value item of one generation."""
    return f"g#{gen}#v#"


def namespace_prefix(gen: str, namespace: str, epoch: int) -> str:
    """Prefix of the value items of one namespace epoch."""
    return f"g#{gen}#v#{namespace}#{epoch}#"


def value_sk(gen: str, namespace: str, epoch: int, key: str) -> str:
    """Sort key of one namespace value."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return namespace_prefix(gen, namespace, epoch) + digest


def turn_prefix(gen: str, epoch: int) -> str:
    """Prefix of the turn items of one transcript epoch."""
    return f"g#{gen}#t#{epoch}#"


def turn_sk(gen: str, epoch: int, index: int) -> str:
    """Sort key of the turn at ``index``."""
    return f"{turn_prefix(gen, epoch)}{index:012d}"


def chunk_prefix(gen: str, nonce: str) -> str:
    """Prefix of the chunks of one record."""
    return f"g#{gen}#c#{nonce}#"


def chunk_sk(gen: str, nonce: str, index: int) -> str:
    """Sort key of chunk ``index`` of one record."""
    return f"{chunk_prefix(gen, nonce)}{index:05d}"


@dataclass(frozen=True, slots=True)
class Packed:
    """A record ready to store: inline bytes, or chunks to write first.

    Attributes:
        data: The bytes to store (compressed if ``compressed``).
        compressed: Whether ``data`` is zlib-compressed.
        chunks: ``data`` split into chunk payloads, or empty if it is stored inline.
        nonce: Names the chunk items; empty when inline.
    """

    data: bytes
    compressed: bool
    chunks: tuple[bytes, ...] = ()
    nonce: str = ""

    @property
    def size(self) -> int:
        """Bytes this record adds to the commit's transaction (the head item's payload)."""
        return 0 if self.chunks else len(self.data)


def pack(raw: str, *, compress_over: int, inline_max: int, chunk_size: int) -> Packed:
    """Encode ``raw`` for storage: compress when it is big and that helps, split when still too big.

    Args:
        raw: The encoded record.
        compress_over: Records longer than this many bytes are compressed if that makes them smaller.
        inline_max: Payloads up to this many bytes stay in the head item.
        chunk_size: Bytes per chunk item when split.
    """
    data = raw.encode("utf-8")
    compressed = False
    if len(data) > compress_over:
        squeezed = zlib.compress(data, 6)
        if len(squeezed) < len(data):
            data, compressed = squeezed, True
    if len(data) <= inline_max:
        return Packed(data, compressed)
    chunks = tuple(data[i : i + chunk_size] for i in range(0, len(data), chunk_size))
    return Packed(data, compressed, chunks, new_nonce())


def payload_attrs(packed: Packed) -> Item:
    """Head-item attributes that describe ``packed`` (inline data, or where its chunks are)."""
    attrs: Item = {"z": {"BOOL": packed.compressed}}
    if packed.chunks:
        attrs["n"] = {"N": str(len(packed.chunks))}
        attrs["cn"] = {"S": packed.nonce}
    else:
        attrs["d"] = {"B": packed.data}
    return attrs


def chunk_count(item: Mapping[str, Any]) -> int:
    """How many chunk items a head item refers to (0: inline)."""
    return int(item["n"]["N"]) if "n" in item else 0


def unpack(item: Mapping[str, Any], chunks: Iterable[bytes], *, session_id: str, what: str) -> str:
    """The record stored by a head item (and its chunks, in order).

    Raises:
        CorruptSession: the payload is missing, cannot be decompressed or is not UTF-8.
    """
    if "n" in item:
        data = b"".join(chunks)
    elif "d" in item and "B" in item["d"]:
        data = bytes(item["d"]["B"])
    else:
        raise CorruptSession(session_id, f"{what} item has no payload")
    try:
        if item.get("z", {}).get("BOOL", False):
            data = zlib.decompress(data)
        return data.decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as exc:
        raise CorruptSession(session_id, f"{what} item cannot be decoded: {exc}") from None


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it against its 400 KB limit (names plus values), roughly."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode("utf-8"))
    if kind in ("N", "B"):
        return len(data)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in data)
    return 1
