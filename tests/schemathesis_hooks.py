"""Schemathesis hooks for tests/test_http_schema.py (loaded through SCHEMATHESIS_HOOKS).

A page cursor is opaque: only a ``next_cursor`` the server gave is valid. The schema marks it with
the format ``agentkernel-cursor``; this teaches the fuzzer what such cursors look like, so that
its valid cursors are really valid and its invalid ones (which break the pattern) really are not.
"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from agentkernel.stores.base import encode_cursor

schemathesis.openapi.format(
    "agentkernel-cursor",
    st.builds(
        encode_cursor,
        st.floats(min_value=0, max_value=4e9, allow_nan=False),
        st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True),
    ),
)
