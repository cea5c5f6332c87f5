"""The request and response bodies of the HTTP API (they are also its OpenAPI schema)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentkernel.session import SessionMeta
from agentkernel.transcript import Turn, TurnStatus, Usage

__all__ = [
    "CURSOR_SCHEMA",
    "SESSION_ID_SCHEMA",
    "AgentInfo",
    "AgentList",
    "ErrorBody",
    "ErrorDetail",
    "Health",
    "RunRequest",
    "RunResponse",
    "SessionDetail",
    "SessionList",
    "SessionSummary",
]


# The schema states exactly what the server accepts, so a client (or a schema fuzzer) that follows it
# is never refused. These constraints are documentation only: the server checks ids itself
# (agentkernel.session.validate_session_id) so that a bad id keeps its own 400 invalid_session_id.
SESSION_ID_SCHEMA: dict[str, Any] = {"pattern": r"^[A-Za-z0-9._:-]{1,128}$", "minLength": 1, "maxLength": 128}
"""JSON Schema of a session id, as ``validate_session_id`` checks it."""

CURSOR_SCHEMA: dict[str, Any] = {"format": "agentkernel-cursor"}
"""JSON Schema of a page cursor: opaque (a format of its own), only ever a ``next_cursor`` the server gave."""

# What str.strip() removes (Python's whitespace), spelt out so that the schema's pattern and the
# server's check agree character for character.
_BLANK = " \t\n\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_HAS_TEXT = f"[^{_BLANK}]"
_HAS_TEXT_RE = re.compile(_HAS_TEXT)


class RunRequest(BaseModel):
    """``POST /run`` and ``POST /run/stream``."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        description="The prompt: text with at least one character that is not whitespace.",
        examples=["Hello!"],
        json_schema_extra={"minLength": 1, "pattern": _HAS_TEXT},  # checked by _not_blank
    )
    agent: str | None = Field(
        default=None,
        min_length=1,
        description="A name from GET /agents; default: the session's last agent, else the first agent.",
    )
    session_id: str | None = Field(
        default=None,
        description="Continue this session (made if it does not exist); default: a new session. "
        "1-128 characters from A-Z a-z 0-9 . _ : -",
        json_schema_extra=SESSION_ID_SCHEMA,
    )
    stream: bool = Field(default=False, description="Answer with server-sent events, as POST /run/stream does.")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not _HAS_TEXT_RE.search(value):
            raise ValueError("message is empty; send the text for the agent")
        return value


class RunResponse(BaseModel):
    """The committed turn, in short."""

    session_id: str = Field(description="The session the turn was committed to (new or given).")
    agent: str = Field(description="The agent that answered.")
    output: str | None = Field(description="The answer text.")
    turn_id: str = Field(description="The committed turn's id (see GET /sessions/{session_id}).")
    usage: Usage | None = Field(description="Token usage, where the framework reports it.")
    status: TurnStatus = Field(description="ok, or interrupted when the agent paused for input.")


class AgentInfo(BaseModel):
    """One agent the service runs."""

    name: str
    description: str = ""
    framework: str | None = Field(description="The adapter that runs it (null if none installed recognises it).")


class AgentList(BaseModel):
    """``GET /agents``."""

    agents: list[AgentInfo]


class SessionSummary(BaseModel):
    """A session's header."""

    id: str
    user_id: str
    created_at: float = Field(description="Unix time in seconds.")
    updated_at: float = Field(description="Unix time of the last commit.")
    version: int = Field(description="Grows by one with every commit.")
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    turn_count: int = Field(description="Turns in the whole transcript.")

    @classmethod
    def of(cls, meta: SessionMeta, **extra: Any) -> Any:
        """Build from a stored header."""
        return cls(
            id=meta.id,
            user_id=meta.user_id,
            created_at=meta.created_at,
            updated_at=meta.updated_at,
            version=meta.version,
            name=meta.name,
            tags=list(meta.tags),
            turn_count=meta.turn_count,
            **extra,
        )


class SessionList(BaseModel):
    """``GET /sessions``: one page, most recently updated first."""

    sessions: list[SessionSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class SessionDetail(SessionSummary):
    """``GET /sessions/{session_id}``: the header and the (newest ``last``) turns, oldest first."""

    turns: list[Turn]


class Health(BaseModel):
    """``GET /health``."""

    status: str = Field(description="ok")
    store: str = Field(description="The session store's type (AK_SESSION__TYPE).")


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="Stable machine-readable code, e.g. session_busy.")
    message: str = Field(description="What happened and what to do next.")
    session_id: str | None = Field(default=None, description="agent_failed only: the session of the error turn.")
    turn_id: str | None = Field(default=None, description="agent_failed only: the error turn kept in the transcript.")


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail
