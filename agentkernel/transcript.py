"""The framework-neutral transcript: turns, the steps inside them, messages and token usage.

These records are stable: they are what stores keep, what the CLI and HTTP API show, and what
lets an agent of one framework read a conversation that an agent of another began. Fields are
only ever added (with defaults), never renamed or removed, without a schema version bump.

Example:
    >>> turn = Turn(agent="assistant", framework="scripted", input=[Message(role="user", content="hi")])
    >>> turn.status
    'ok'
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

__all__ = ["Message", "Step", "StepKind", "ToolCall", "Turn", "TurnError", "TurnStatus", "Usage"]

StepKind = Literal["model_call", "tool_call", "handoff", "task", "interrupt", "custom"]
TurnStatus = Literal["ok", "error", "interrupted"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class ToolCall(_Record):
    """One tool call an assistant message asks for.

    Attributes:
        id: The call's id; the ``tool`` message with the same ``tool_call_id`` is its result.
        name: The tool's name.
        arguments: The arguments (JSON data).
    """

    id: str
    name: str
    arguments: Any = None


class Message(_Record):
    """One chat message: the input of a turn is a list of these.

    Attributes:
        role: Who spoke: ``user``, ``assistant``, ``system`` or ``tool``.
        content: The text.
        name: Optional speaker name (an agent's name, or a tool's for a ``tool`` message).
        tool_calls: On an ``assistant`` message: the tool calls it makes.
        tool_call_id: On a ``tool`` message: the id of the call it answers.
    """

    role: Literal["user", "assistant", "system", "tool"]
    content: str
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unset_tool_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Plain messages encode exactly as before these fields existed, so records stay small
        # and a release that does not know the fields still reads them.
        data: dict[str, Any] = handler(self)
        for key in ("tool_calls", "tool_call_id"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class Usage(_Record):
    """Token usage, where the framework reports it."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            requests=self.requests + other.requests,
        )


class Step(_Record):
    """One thing that happened inside a turn.

    Attributes:
        kind: ``model_call``, ``tool_call``, ``handoff`` (from ``agent`` to ``name``), ``task``
            (a CrewAI task, say), ``interrupt`` (the run paused for input) or ``custom``.
        name: The model, tool, target agent or task.
        agent: The agent that took the step, where the framework says.
        arguments: Tool-call arguments (JSON data).
        result: The tool result or model output (JSON data).
        error: The error text if the step failed.
        started_at: Unix time in seconds.
        ended_at: Unix time in seconds.
        usage: Token usage of this step, where reported.
    """

    kind: StepKind
    name: str = ""
    agent: str | None = None
    arguments: Any = None
    result: Any = None
    error: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    usage: Usage | None = None


class TurnError(_Record):
    """Why a turn failed: the exception's type name and message."""

    type: str
    message: str


class Turn(_Record):
    """One run of one agent for one prompt.

    Attributes:
        id: Unique id (32 hex characters).
        index: Position in the session's transcript, from 0; set when the turn is committed.
        agent: The agent's name.
        framework: The adapter that ran it (``langgraph``, ``openai_agents``, ``crewai``...).
        input: The messages given to the agent.
        output: The final answer text (``None`` for an error turn).
        steps: Model calls, tool calls, handoffs and tasks, in order.
        started_at: Unix time in seconds.
        ended_at: Unix time in seconds.
        status: ``ok``, ``error`` or ``interrupted`` (paused, waiting for a resume value).
        error: Set when ``status`` is ``error``.
        usage: Token usage summed over the turn, where the framework reports it.
        metadata: Free-form JSON data an adapter or application adds.
    """

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    index: int = -1
    agent: str
    framework: str
    input: list[Message]
    output: str | None = None
    steps: list[Step] = Field(default_factory=list)
    started_at: float = Field(default_factory=time.time)
    ended_at: float | None = None
    status: TurnStatus = "ok"
    error: TurnError | None = None
    usage: Usage | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The text of the last user message of the input (empty if there is none)."""
        for message in reversed(self.input):
            if message.role == "user":
                return message.content
        return ""
