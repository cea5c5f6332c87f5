"""Opaque cursors for listing sessions newest first: (updated_at, id) of the last row shown."""

from __future__ import annotations

import base64
import json

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(updated_at: float, session_id: str) -> str:
    """Encode the position after which the next page starts."""
    return base64.urlsafe_b64encode(json.dumps([updated_at, session_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    """Decode a cursor made by :func:`encode_cursor`; ``None`` stays ``None``.

    Raises:
        ValueError: the cursor was not made by :func:`encode_cursor`.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        updated_at, session_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return float(updated_at), str(session_id)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid page cursor {cursor!r}: pass the next_cursor of the previous page") from exc
