"""What an SDK run did, as transcript steps: model calls, tool calls and handoffs.

:class:`StepRecorder` takes the SDK's run items and model responses one at a time, so the same
code builds the steps of a finished run (from ``result.new_items`` and ``result.raw_responses``)
and of a streamed one (from its events, as they come).
"""

from __future__ import annotations

import json
import time
from typing import Any

from agentkernel.transcript import Step, Usage

__all__ = ["StepRecorder", "output_text", "to_json", "to_usage"]


def to_usage(usage: Any) -> Usage:
    """The kernel's :class:`Usage` from the SDK's (or the Responses API's) usage object."""
    if usage is None:
        return Usage(requests=1)
    return Usage(
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
        total_tokens=int(getattr(usage, "total_tokens", 0) or 0),
        requests=int(getattr(usage, "requests", 1) or 1),
    )


def output_text(output: list[Any]) -> str:
    """The assistant text in a model response's output items."""
    parts: list[str] = []
    for item in output:
        if getattr(item, "type", None) != "message":
            continue
        for content in getattr(item, "content", None) or []:
            text = getattr(content, "text", None)
            if isinstance(text, str):
                parts.append(text)
    return "".join(parts)


def _arguments(raw: Any) -> Any:
    arguments = raw.get("arguments") if isinstance(raw, dict) else getattr(raw, "arguments", None)
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return to_json(arguments)


def _field(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


def to_json(value: Any) -> Any:
    """``value`` as JSON data (pydantic models dumped, anything else as its text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


class StepRecorder:
    """Builds the steps of one run, in order, from SDK items and model responses.

    Attributes:
        steps: The finished steps so far.

    Args:
        live: Stamp steps with the time they were seen (for a streamed run); a finished run's
            items carry no times, so its steps get none.
    """

    def __init__(self, *, live: bool = False) -> None:
        self.steps: list[Step] = []
        self._open_tools: dict[str, Step] = {}
        self._live = live
        self._last_end = time.time()

    def _now(self) -> float | None:
        return time.time() if self._live else None

    @property
    def usage(self) -> Usage | None:
        """Token usage summed over the model calls, or ``None`` if there was none."""
        total: Usage | None = None
        for step in self.steps:
            if step.usage is not None:
                total = step.usage if total is None else total + step.usage
        return total

    def model_call(self, *, agent: str | None, model: str, usage: Any, output: list[Any]) -> Step:
        """Record one model call (one ``ModelResponse``, or one streamed response)."""
        now = time.time()
        step = Step(
            kind="model_call",
            name=model,
            agent=agent,
            result=output_text(output) or None,
            usage=to_usage(usage),
            started_at=self._last_end if self._live else None,
            ended_at=self._now(),
        )
        self._last_end = now
        self.steps.append(step)
        return step

    def item(self, item: Any) -> Step | None:
        """Take one SDK run item; return the step it finished, if any.

        A tool call finishes when its output arrives; a handoff when the SDK reports it done.
        """
        kind = type(item).__name__
        agent = getattr(getattr(item, "agent", None), "name", None)
        raw = getattr(item, "raw_item", None)
        if kind == "ToolCallItem":
            call_id = _field(raw, "call_id") or _field(raw, "id")
            name = _field(raw, "name") or _field(raw, "type") or "tool"
            step = Step(kind="tool_call", name=str(name), agent=agent, arguments=_arguments(raw),
                        started_at=self._now())
            if isinstance(call_id, str):
                self._open_tools[call_id] = step
            else:  # nothing will match an output to it: it is finished as it is
                return self._finish(step)
            return None
        if kind == "ToolCallOutputItem":
            call_id = _field(raw, "call_id")
            opened = self._open_tools.pop(call_id, None) if isinstance(call_id, str) else None
            if opened is None:
                opened = Step(kind="tool_call", name="tool", agent=agent)
            return self._finish(opened.model_copy(update={"result": to_json(getattr(item, "output", None))}))
        if kind == "HandoffOutputItem":
            source = getattr(getattr(item, "source_agent", None), "name", agent)
            target = getattr(getattr(item, "target_agent", None), "name", "")
            return self._finish(Step(kind="handoff", name=str(target), agent=source, started_at=self._now()))
        return None

    def close(self) -> None:
        """Record tool calls that never got an output (the run ended first)."""
        for step in self._open_tools.values():
            self._finish(step.model_copy(update={"error": "the run ended before the tool returned"}))
        self._open_tools.clear()

    def _finish(self, step: Step) -> Step:
        self._last_end = time.time()
        done = step.model_copy(update={"ended_at": self._now()})
        self.steps.append(done)
        return done
