"""Per-run crews: a private copy of the user's crew (or a one-task crew around a single agent).

``Crew.kickoff`` changes the crew it runs (task outputs, interpolated descriptions, retry
counters, token counters, the agents' executors), so one crew object cannot serve two sessions at
once. Every run therefore kicks off a fresh copy made by CrewAI's own ``Crew.copy()`` /
``Agent.copy()``; the user's objects are only read.

Earlier turns reach the crew the way CrewAI's own ``crewai chat`` passes a conversation: as the
``crew_chat_messages`` input, which CrewAI appends to every task's description under its
"conversation history" instruction, one ``User: ...`` / ``Assistant: ...`` line per message. The
earlier turns are the kernel's one rule (:mod:`agentkernel.history`); CrewAI's history is text,
so a tool call becomes the assistant line ``[called <tool> <arguments as JSON>]`` and its result
the ``Tool: ...`` line after it. The conversation ends with this run's input, so the crew sees the
request too. The request is also
the ``{prompt}`` input, for tasks that want to place it themselves.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentkernel._optional import require
from agentkernel.transcript import Message
from agentkernel_crewai.storage import keep_task_outputs_in_memory

if TYPE_CHECKING:
    from crewai import Crew
    from crewai.tasks.task_output import TaskOutput

__all__ = ["AGENT_TASK", "build_crew", "chat_lines", "crew_inputs", "is_crewai_object"]

AGENT_TASK = {
    "description": "Reply to the user's latest message in the conversation below.",
    "expected_output": "The reply to send to the user, exactly as it should be shown to them.",
}
"""The task a single ``crewai.Agent`` is given when the adapter wraps it in a crew."""

_FEATURE = "the CrewAI adapter"


def _crewai() -> Any:
    return require("crewai", extra="crewai", feature=_FEATURE)


def is_crewai_object(agent: object) -> bool:
    """Whether ``agent`` is a ``crewai.Crew`` or ``crewai.Agent`` (or a subclass).

    Cheap for other objects: crewai is imported only when one of the object's classes comes
    from a ``crewai`` module.
    """
    if not any(cls.__module__.split(".", 1)[0] == "crewai" for cls in type(agent).__mro__):
        return False
    crewai = _crewai()
    return isinstance(agent, crewai.Crew | crewai.Agent)


def crew_inputs(
    history: list[Message], messages: list[Message], prompt: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The kickoff inputs for one run.

    Args:
        history: Earlier turns as chat messages, oldest first.
        messages: This run's input.
        prompt: The text of this run's last user message.
        extra: The agent's own ``inputs`` option, for placeholders of its tasks.

    Returns:
        ``prompt``, ``crew_chat_messages`` (the whole conversation as JSON, see the module
        docstring) and the ``extra`` inputs.
    """
    conversation = [line for m in [*history, *messages] for line in chat_lines(m)]
    return {**dict(extra or {}), "prompt": prompt, "crew_chat_messages": json.dumps(conversation)}


def chat_lines(message: Message) -> list[dict[str, str]]:
    """One neutral message as CrewAI chat messages (``role`` and text ``content``)."""
    lines = [{"role": message.role, "content": message.content}] if message.content or not message.tool_calls else []
    for call in message.tool_calls or []:
        arguments = json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)
        lines.append({"role": "assistant", "content": f"[called {call.name} {arguments}]"})
    return lines


def build_crew(agent: object, *, tracing: bool | None, on_task: Callable[[TaskOutput], None]) -> Crew:
    """A private crew for one run of ``agent``.

    Args:
        agent: The user's ``Crew`` or ``Agent``; never changed.
        tracing: Turn CrewAI tracing on or off; ``None`` keeps the crew's own ``tracing``
            setting and otherwise leaves tracing off.
        on_task: Called with each task's output as the task finishes (after the crew's own
            ``task_callback``, which is kept).

    Raises:
        TypeError: ``agent`` is neither a ``Crew`` nor an ``Agent``.
    """
    crewai = _crewai()
    if isinstance(agent, crewai.Crew):
        traced = agent.tracing if tracing is None else tracing
        # A shallow copy carrying the tracing choice, so the real copy is *constructed* with it:
        # with tracing unset, building a crew reads CrewAI's consent file in the user's home.
        crew: Crew = agent.model_copy(update={"tracing": bool(traced)}).copy()
        members = list(crew.agents) + ([crew.manager_agent] if crew.manager_agent is not None else [])
    elif isinstance(agent, crewai.Agent):
        member = agent.copy()
        task = crewai.Task(**AGENT_TASK, agent=member)
        crew = crewai.Crew(agents=[member], tasks=[task], tracing=bool(tracing), verbose=agent.verbose)
        members = [member]
    else:
        raise TypeError(f"the CrewAI adapter runs a crewai.Crew or crewai.Agent, not {type(agent).__name__}")
    for member in members:
        _fresh_token_counter(member)
    crew.stream = False  # the adapter streams finished tasks; see agentkernel_crewai.adapter
    keep_task_outputs_in_memory(crew)  # the conversation lives in the session store only
    own = crew.task_callback

    def task_callback(output: TaskOutput) -> None:
        if own is not None:
            own(output)
        on_task(output)

    crew.task_callback = task_callback
    return crew


def _fresh_token_counter(member: Any) -> None:
    # Agent.copy() shallow-copies the model, so the copy's token counter is still the original's
    # dict: usage would add up across runs and sessions. Give this run's model its own counter.
    llm = getattr(member, "llm", None)
    counter = getattr(llm, "_token_usage", None)
    if isinstance(counter, dict):
        llm = copy.copy(llm)
        llm._token_usage = dict.fromkeys(counter, 0)  # type: ignore[union-attr]
        member.llm = llm
