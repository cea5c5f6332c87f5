"""The runner adapter for the OpenAI Agents SDK (openai-agents 0.24.x).

Each run gives ``agents.Runner`` a :class:`~agentkernel_openai_agents.memory.NamespaceSession`
over the ``openai_agents`` namespace, so the SDK reads and writes its conversation there and the
kernel commits it with the turn. The agent object is never changed: one agent serves many sessions
at once. Turns other agents took in the session are fed in as input items first
(:mod:`agentkernel_openai_agents.history`). Tracing is off for runs under the kernel unless the
agent is registered with ``tracing=True``.

Options (given at registration, ``runner.register(agent, tracing=True, max_turns=5)``):
    tracing: ``True`` to let the SDK trace (and export traces as it is configured to).
    max_turns: The SDK's bound on model calls per run.
    run_config: An ``agents.RunConfig`` to start from (tracing is still off unless ``tracing``).
    context: The SDK run context object handed to tools.
    resume_last_agent: ``True`` to start each run at the agent that answered the previous one
        (after a handoff, say), found by name among the agents reachable through ``handoffs``.

Example:
    >>> adapter = OpenAIAgentsAdapter()
    >>> adapter.recognizes(object())
    False
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import AsyncIterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agentkernel._optional import require
from agentkernel.adapter import AdapterResult, RunContext, RunEvent
from agentkernel.errors import AgentKernelError
from agentkernel_openai_agents.history import feed_unseen_turns, input_items
from agentkernel_openai_agents.memory import DEFAULT_CHUNK_SIZE, NamespaceSession, agent_prefix
from agentkernel_openai_agents.steps import StepRecorder, to_json

if TYPE_CHECKING:
    from agents import Agent, RunConfig, RunResult, RunResultStreaming

__all__ = ["OpenAIAgentsAdapter", "ToolApprovalPending", "build_run_config"]

class ToolApprovalPending(AgentKernelError, RuntimeError):
    """The SDK run stopped to ask for a tool approval, which runs under the kernel cannot resume."""


def _sdk() -> ModuleType:
    return require("agents", extra="openai-agents", feature="the OpenAI Agents SDK adapter")


def build_run_config(options: dict[str, Any]) -> RunConfig:
    """The SDK run config for a run with these agent options; tracing off unless opted in.

    Raises:
        TypeError: ``run_config`` is not an ``agents.RunConfig``.
    """
    sdk = _sdk()
    base = options.get("run_config")
    if base is None:
        base = sdk.RunConfig()
    elif not isinstance(base, sdk.RunConfig):
        raise TypeError(f"the run_config option must be an agents.RunConfig, got {type(base).__name__}")
    tracing = bool(options.get("tracing", False))
    config: RunConfig = dataclasses.replace(base, tracing_disabled=base.tracing_disabled or not tracing)
    return config


def ask_for_streamed_usage(config: RunConfig, agent: Agent[Any]) -> RunConfig:
    """``config`` asking every model for token usage in its stream, unless already told either way.

    Chat Completions streams carry usage only when the request asks for it
    (``stream_options.include_usage``), and the SDK asks only the official OpenAI endpoint, so a
    streamed turn on any other provider would record zero tokens where ``run`` records real
    counts. An ``include_usage`` set on the run config or on the starting agent is kept as it is.
    """
    settings = config.model_settings
    if (settings is not None and settings.include_usage is not None) or agent.model_settings.include_usage is not None:
        return config
    sdk = _sdk()
    asked = sdk.ModelSettings(include_usage=True) if settings is None else settings.resolve(
        sdk.ModelSettings(include_usage=True)
    )
    replaced: RunConfig = dataclasses.replace(config, model_settings=asked)
    return replaced


def _model_name(agent: Any) -> str:
    model = getattr(agent, "model", None)
    if isinstance(model, str):
        return model
    if model is None:
        return "default"
    name = getattr(model, "model", None)
    return name if isinstance(name, str) else type(model).__name__


def _final_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(to_json(value), ensure_ascii=False)


class OpenAIAgentsAdapter:
    """Runs ``agents.Agent`` objects in agentkernel sessions. Its namespace is ``openai_agents``.

    Args:
        chunk_size: SDK conversation items per namespace key.
    """

    name = "openai_agents"

    def __init__(self, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size

    def recognizes(self, agent: object) -> bool:
        """Whether ``agent`` is an ``agents.Agent`` (or a subclass of it).

        Cheap: the SDK is imported only for objects of its own modules; for any other object
        the answer is ``False`` unless the SDK was already imported (a subclass of ``Agent``
        can exist only then).
        """
        module = type(agent).__module__
        if module == "agents" or module.startswith("agents."):
            sdk: ModuleType | None = _sdk()
        else:
            sdk = sys.modules.get("agents")
        agent_class = getattr(sdk, "Agent", None)
        return isinstance(agent_class, type) and isinstance(agent, agent_class)

    def agent_name(self, agent: object) -> str:
        """The SDK agent's own name."""
        name = getattr(agent, "name", None)
        return name if isinstance(name, str) and name else "openai_agent"

    def _agent(self, agent: object) -> Agent[Any]:
        if not self.recognizes(agent):
            raise TypeError(f"OpenAIAgentsAdapter runs agents.Agent objects, not {type(agent).__name__}")
        checked: Agent[Any] = agent  # type: ignore[assignment]
        return checked

    async def _prepare(self, context: RunContext) -> dict[str, Any]:
        """The SDK run's keyword arguments, after feeding unseen turns into the conversation."""
        memory = NamespaceSession(
            context.state, context.session.id, agent=context.agent_name, chunk_size=self.chunk_size
        )
        await feed_unseen_turns(memory, context, framework=self.name)
        kwargs: dict[str, Any] = {"session": memory, "run_config": build_run_config(context.options)}
        if "max_turns" in context.options:
            kwargs["max_turns"] = int(context.options["max_turns"])
        if "context" in context.options:
            kwargs["context"] = context.options["context"]
        return kwargs

    async def run(self, agent: object, context: RunContext) -> AdapterResult:
        """Run the agent once with ``agents.Runner.run``. SDK errors propagate unchanged."""
        sdk_agent = self._agent(agent)
        kwargs = await self._prepare(context)
        start = self._starting_agent(sdk_agent, context)
        result: RunResult = await _sdk().Runner.run(start, input_items(context.messages), **kwargs)
        recorder = StepRecorder()
        _record_finished(recorder, result, start)
        self._remember_last_agent(result, context)
        return _adapter_result(result, recorder)

    async def stream(self, agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
        """Run the agent once with ``agents.Runner.run_streamed``.

        Yields text deltas as the model streams them, a ``step`` event for each model call, tool
        call and handoff as it finishes, and one ``result`` event. If the consumer stops early the
        SDK run is cancelled.
        """
        sdk_agent = self._agent(agent)
        kwargs = await self._prepare(context)
        start = self._starting_agent(sdk_agent, context)
        kwargs["run_config"] = ask_for_streamed_usage(kwargs["run_config"], start)
        streamed: RunResultStreaming = _sdk().Runner.run_streamed(start, input_items(context.messages), **kwargs)
        recorder = StepRecorder(live=True)
        current: Any = start
        try:
            async for event in streamed.stream_events():
                if event.type == "agent_updated_stream_event":
                    current = event.new_agent
                elif event.type == "run_item_stream_event":
                    step = recorder.item(event.item)
                    if step is not None:
                        yield RunEvent(type="step", step=step)
                elif event.type == "raw_response_event":
                    data = event.data
                    if data.type == "response.output_text.delta" and data.delta:
                        yield RunEvent(type="delta", text=data.delta)
                    elif data.type == "response.completed":
                        step = recorder.model_call(
                            agent=current.name,
                            model=_model_name(current),
                            usage=data.response.usage,
                            output=list(data.response.output),
                        )
                        yield RunEvent(type="step", step=step)
        finally:
            if not streamed.is_complete:
                streamed.cancel()
        recorder.close()
        result = _adapter_result(streamed, recorder)
        self._remember_last_agent(streamed, context)
        yield RunEvent(type="result", result=result)

    def _starting_agent(self, agent: Agent[Any], context: RunContext) -> Agent[Any]:
        """The registered agent, or with ``resume_last_agent`` the one that answered last."""
        if not context.options.get("resume_last_agent"):
            return agent
        name = context.state.get(f"{agent_prefix(context.agent_name)}/last_agent")
        return _reachable(agent, name) if isinstance(name, str) else agent

    def _remember_last_agent(self, result: RunResult | RunResultStreaming, context: RunContext) -> None:
        if context.options.get("resume_last_agent"):
            context.state[f"{agent_prefix(context.agent_name)}/last_agent"] = result.last_agent.name

    def __repr__(self) -> str:
        return f"OpenAIAgentsAdapter(chunk_size={self.chunk_size})"


def _reachable(root: Agent[Any], name: str) -> Agent[Any]:
    """The agent called ``name`` among ``root`` and the agents its handoffs lead to, else ``root``.

    Only handoffs given as agents are followed; a ``Handoff`` object does not expose its agent.
    """
    agent_class = _sdk().Agent
    seen: set[int] = set()
    queue: list[Any] = [root]
    while queue:
        agent = queue.pop(0)
        if id(agent) in seen:
            continue
        seen.add(id(agent))
        if agent.name == name:
            found: Agent[Any] = agent
            return found
        queue.extend(h for h in getattr(agent, "handoffs", []) if isinstance(h, agent_class))
    return root


def _record_finished(recorder: StepRecorder, result: RunResult, start: Agent[Any]) -> None:
    """Steps of a finished run: each model call just before the first item it produced."""
    responses = list(result.raw_responses)
    emitted = 0

    def emit_through(last: int, agent: Any) -> None:
        nonlocal emitted
        while emitted <= last:
            response = responses[emitted]
            recorder.model_call(
                agent=agent.name, model=_model_name(agent), usage=response.usage, output=list(response.output)
            )
            emitted += 1

    for item in result.new_items:
        raw = getattr(item, "raw_item", None)
        for index in range(emitted, len(responses)):
            if any(output is raw for output in responses[index].output):
                emit_through(index, item.agent)
                break
        recorder.item(item)
    emit_through(len(responses) - 1, result.last_agent if result.last_agent is not None else start)
    recorder.close()


def _adapter_result(result: RunResult | RunResultStreaming, recorder: StepRecorder) -> AdapterResult:
    pending = list(getattr(result, "interruptions", None) or [])
    if pending:
        tools = ", ".join(sorted({str(getattr(item, "tool_name", None) or "?") for item in pending}))
        raise ToolApprovalPending(
            f"the run stopped for approval of tool call(s) to {tools}; tool approvals cannot be resumed "
            "under agentkernel yet: drop needs_approval from those tools, or approve them inside the tool"
        )
    final = result.final_output
    metadata: dict[str, Any] = {"last_agent": result.last_agent.name}
    if not isinstance(final, str) and final is not None:
        metadata["final_output"] = to_json(final)
    return AdapterResult(
        output=_final_text(final),
        steps=list(recorder.steps),
        usage=recorder.usage,
        metadata=metadata,
    )
