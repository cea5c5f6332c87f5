"""The adapter protocol: the framework-specific part of a run.

An adapter recognises its framework's agent objects, turns a :class:`RunContext` into that
framework's input and memory, runs the agent, and returns an :class:`AdapterResult`. It keeps its
framework's memory only in ``context.state`` (its own namespace) and never mutates the agent
object it is given, because one agent object serves many sessions at once.

Adapters register under the entry-point group ``agentkernel.adapters``::

    [project.entry-points."agentkernel.adapters"]
    acme = "acme_agentkernel:AcmeAdapter"

``agentkernel.testing.AdapterContract`` is the test suite an adapter passes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast, runtime_checkable

from agentkernel import history as _history
from agentkernel.session import Namespace, Session
from agentkernel.transcript import Message, Step, Turn, TurnStatus, Usage

__all__ = [
    "Adapter",
    "AdapterResult",
    "HistoryScope",
    "RunContext",
    "RunEvent",
    "StreamingAdapter",
    "final_event",
    "result_of",
]

HistoryScope = Literal["session", "own"]


@dataclass(slots=True)
class RunContext:
    """What an adapter gets for one run.

    Attributes:
        session: The working copy of the session; commits only if the run succeeds.
        agent_name: The name the agent runs under.
        messages: This run's input.
        state: The adapter's own namespace: its framework's memory lives here, as JSON data.
        history: Earlier turns this agent may see, oldest first (the whole session's, or only
            its own, per the agent's ``history`` option).
        options: Per-agent options given at registration.
    """

    session: Session
    agent_name: str
    messages: list[Message]
    state: Namespace
    history: Sequence[Turn]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The text of the last user message of this run's input."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""

    @property
    def shared(self) -> Namespace:
        """The session's shared namespace, for tools."""
        return self.session.namespace("shared")

    def history_messages(self) -> list[Message]:
        """Earlier turns as one neutral conversation, oldest first: the rule every adapter maps
        to its framework's types (see :mod:`agentkernel.history`)."""
        return _history.history_messages(self.history)

    def unseen_history_messages(self, framework: str) -> list[Message]:
        """Like :meth:`history_messages`, for the turns this agent has not seen yet.

        For adapters whose framework keeps the agent's own memory: the agent's own turns in
        ``framework`` are left out, and the agent's seen cursor in ``state`` moves past this run's
        turn (see :func:`agentkernel.history.unseen_turns`).
        """
        turns = _history.unseen_turns(
            self.state,
            self.history,
            agent=self.agent_name,
            framework=framework,
            next_index=self.session.turn_count + 1,
        )
        return _history.history_messages(turns)


@dataclass(slots=True)
class AdapterResult:
    """What an adapter returns for one run.

    Attributes:
        output: The final answer text.
        steps: What happened on the way, in order.
        usage: Token usage summed over the run, where the framework reports it.
        status: ``ok``, or ``interrupted`` when the run paused for input.
        metadata: JSON data recorded on the turn.
    """

    output: str
    steps: list[Step] = field(default_factory=list)
    usage: Usage | None = None
    status: TurnStatus = "ok"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One streamed event, the same types for every adapter.

    Attributes:
        type: ``delta`` (a piece of answer text), ``step`` (a finished step), ``result``
            (the adapter's result; adapters end their stream with one) or ``turn`` (the committed
            turn; the runner sends it last).
        text: The text of a ``delta``.
        step: The step of a ``step``.
        result: The result of a ``result``.
        turn: The turn of a ``turn``.
        agent: The name of the agent that is running; the runner fills it in on every event
            it yields (adapters leave it empty).
    """

    type: Literal["delta", "step", "result", "turn"]
    text: str = ""
    step: Step | None = None
    result: AdapterResult | None = None
    turn: Turn | None = None
    agent: str = ""


@runtime_checkable
class Adapter(Protocol):
    """The framework-specific part of a runner.

    Attributes:
        name: The framework's name; also the namespace the adapter owns.
    """

    name: str

    def recognizes(self, agent: object) -> bool:
        """Whether ``agent`` is one of this framework's agent objects. Must be cheap."""
        ...

    def agent_name(self, agent: object) -> str:
        """A default name for ``agent`` when it was not registered under one."""
        ...

    async def run(self, agent: object, context: RunContext) -> AdapterResult:
        """Run ``agent`` once. Raise to fail the turn; nothing of the run is then committed."""
        ...


@runtime_checkable
class StreamingAdapter(Adapter, Protocol):
    """An adapter that can also stream a run."""

    def stream(self, agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
        """Run ``agent`` once, yielding events and ending with one ``result`` event."""
        ...


async def final_event(events: AsyncIterator[RunEvent], kind: Literal["result", "turn"]) -> RunEvent:
    """Drain ``events`` and return the last event of type ``kind``.

    Raises:
        RuntimeError: the stream ended without one, or it carries no value (a broken stream).
    """
    final: RunEvent | None = None
    async for event in events:
        if event.type == kind:
            final = event
    if final is None or getattr(final, kind) is None:
        raise RuntimeError(f"the stream ended without a {kind} event")
    return final


async def result_of(events: AsyncIterator[RunEvent]) -> AdapterResult:
    """The result of an adapter's stream, drained: ``run`` for an adapter that implements ``stream``.

    Example:
        >>> class MyAdapter:
        ...     async def run(self, agent: object, context: RunContext) -> AdapterResult:
        ...         return await result_of(self.stream(agent, context))

    Raises:
        RuntimeError: the stream ended without a ``result`` event.
    """
    return cast(AdapterResult, (await final_event(events, "result")).result)
