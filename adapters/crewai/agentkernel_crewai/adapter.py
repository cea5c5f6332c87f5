"""The CrewAI runner adapter: runs a ``crewai.Crew`` or a single ``crewai.Agent`` in a session.

Each run kicks off a private copy of the crew (see :mod:`agentkernel_crewai.crews`) on a worker
thread, with the session's earlier turns as its conversation history. Each task's output becomes
a ``task`` step as the task finishes; the crew's final output is the turn's output; token usage
comes from the crew output's usage metrics.

What the adapter keeps in its ``crewai`` namespace: ``runs``, a record of what the crew produced
per turn (prompt, output, each task's output), the newest ``keep_runs`` of them (default 20).
CrewAI's own memory systems (``memory=True``) need an embedder and a local vector store; the
adapter leaves them as the crew configures them, which is off by default.

:meth:`CrewAIAdapter.stream` yields one ``step`` event per finished task and then the ``result``,
and no text deltas: what CrewAI streams (``Crew(stream=True)``) is the raw model output of every
task, reasoning and intermediate tasks included, not the text of the answer, so the adapter runs
its copy with CrewAI streaming off.

Example:
    >>> adapter = CrewAIAdapter()
    >>> adapter.recognizes("not a crew")
    False
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from agentkernel.adapter import AdapterResult, RunContext, RunEvent, result_of
from agentkernel.transcript import Step, Usage
from agentkernel_crewai.crews import build_crew, crew_inputs, is_crewai_object
from agentkernel_crewai.environment import quiet_crewai

if TYPE_CHECKING:
    from crewai.crews.crew_output import CrewOutput
    from crewai.tasks.task_output import TaskOutput

__all__ = ["DEFAULT_KEEP_RUNS", "CrewAIAdapter"]

DEFAULT_KEEP_RUNS = 20
"""How many turns' records the ``runs`` key keeps unless the ``keep_runs`` option says otherwise."""

_NAME_CHARS = 80


class CrewAIAdapter:
    """Runs CrewAI crews and agents. Its namespace is ``crewai``.

    Per-agent options (``runner.register(crew, name=..., **options)``):

    * ``inputs``: extra kickoff inputs for placeholders in the crew's tasks and agents.
    * ``tracing``: ``True`` to turn CrewAI tracing on for this agent (default: the crew's own
      ``tracing`` field, and off when that is unset).
    * ``keep_runs``: how many turns' records to keep in the namespace (default 20).
    """

    name = "crewai"

    def recognizes(self, agent: object) -> bool:
        """Whether ``agent`` is a ``crewai.Crew`` or ``crewai.Agent``. Imports crewai only for those."""
        return is_crewai_object(agent)

    def agent_name(self, agent: object) -> str:
        """The crew's ``name`` (CrewAI's default is ``crew``) or the agent's ``role``."""
        name = getattr(agent, "name", None) if hasattr(agent, "tasks") else getattr(agent, "role", None)
        return str(name) if name else "crew"

    async def run(self, agent: object, context: RunContext) -> AdapterResult:
        """Kick off a private copy of ``agent`` once; CrewAI's exceptions come out unchanged."""
        return await result_of(self.stream(agent, context))

    async def stream(self, agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
        """Like :meth:`run`, yielding a ``step`` event per finished task, then the ``result``."""
        quiet_crewai()
        loop = asyncio.get_running_loop()
        finished: asyncio.Queue[Step | None] = asyncio.Queue()  # None: the crew is done
        clock = [time.time()]

        def post(step: Step | None) -> None:  # from CrewAI's threads
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens any more
                loop.call_soon_threadsafe(finished.put_nowait, step)

        def on_task(output: TaskOutput) -> None:
            step = _task_step(output, started=clock[0])
            clock[0] = step.ended_at or clock[0]
            post(step)

        inputs = crew_inputs(
            context.history_messages(), context.messages, context.prompt, context.options.get("inputs")
        )
        tracing = context.options.get("tracing")
        stopped = asyncio.Event()  # set once the crew's thread has really ended

        def kickoff() -> CrewOutput:  # on a worker thread, in a copy of this task's context
            try:
                crew = build_crew(agent, tracing=tracing, on_task=on_task)
                return cast("CrewOutput", crew.kickoff(inputs=inputs))  # build_crew turned streaming off
            finally:
                post(None)
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(stopped.set)

        job = asyncio.ensure_future(asyncio.to_thread(kickoff))
        job.add_done_callback(_retrieve)
        steps: list[Step] = []
        try:
            while (step := await finished.get()) is not None:
                steps.append(step)
                yield RunEvent(type="step", step=step)
            output = await job
        finally:
            if not job.done():
                # A crew's thread cannot be interrupted: stay here (so the run keeps its lease) until
                # it has ended, so that the next run on this session never overlaps it.
                await _outlast(stopped)
                job.cancel()
        self._remember(context, output, steps)
        yield RunEvent(
            type="result",
            result=AdapterResult(output=output.raw, steps=steps, usage=_usage(output)),
        )

    @staticmethod
    def _remember(context: RunContext, output: CrewOutput, steps: list[Step]) -> None:
        keep = int(context.options.get("keep_runs", DEFAULT_KEEP_RUNS))
        record = {
            "at": time.time(),
            "prompt": context.prompt,
            "output": output.raw,
            "tasks": [{"name": s.name, "agent": s.agent, "output": s.result} for s in steps],
        }
        runs = [*context.state.get("runs", []), record]
        context.state["runs"] = runs[-keep:] if keep > 0 else []


async def _outlast(stopped: asyncio.Event) -> None:
    """Wait for ``stopped`` through any number of cancellations, then pass a cancellation on."""
    cancelled = False
    while not stopped.is_set():
        try:
            await asyncio.shield(stopped.wait())
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def _retrieve(job: asyncio.Future[Any]) -> None:
    # A consumer that stopped early never reads the crew's outcome; read it here so asyncio does
    # not report an exception nobody retrieved.
    if not job.cancelled():
        job.exception()


def _task_step(output: TaskOutput, *, started: float) -> Step:
    return Step(
        kind="task",
        name=_task_name(output.name or output.description),
        agent=str(output.agent) if output.agent else None,
        result=output.raw,
        started_at=started,
        ended_at=time.time(),
    )


def _task_name(text: str) -> str:
    # CrewAI appends the conversation to a task's description after a blank line (and uses the
    # description as the name of an unnamed task): keep the first paragraph only, so steps do not
    # repeat the whole conversation every turn.
    name = " ".join(str(text).split("\n\n", 1)[0].split())
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 3] + "..."


def _usage(output: CrewOutput) -> Usage | None:
    metrics = output.token_usage
    if metrics is None:
        return None
    usage = Usage(
        input_tokens=metrics.prompt_tokens,
        output_tokens=metrics.completion_tokens,
        total_tokens=metrics.total_tokens,
        requests=metrics.successful_requests,
    )
    return usage if usage != Usage() else None
