"""A scripted agent and its adapter: run the kernel end to end with no framework and no model.

The adapter registers under ``agentkernel.adapters`` as ``scripted``, like any other adapter.

Example:
    >>> agent = ScriptedAgent("assistant", replies=["Hi! What's your name?", "Nice to meet you."])
    >>> agent.name
    'assistant'
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from agentkernel.adapter import AdapterResult, RunContext, RunEvent, result_of
from agentkernel.transcript import Step, Usage

__all__ = ["Reply", "ScriptedAdapter", "ScriptedAgent", "echo"]

Reply = str | Callable[[RunContext], "str | Awaitable[str]"]
"""A fixed answer, or a function of the run's context returning one (sync or async)."""


def echo(context: RunContext) -> str:
    """The default reply: repeat the prompt and say how many turns the agent has seen."""
    seen = len(context.history)
    return f"{context.agent_name} heard: {context.prompt} (after {seen} earlier turn{'s' if seen != 1 else ''})"


class ScriptedAgent:
    """An agent whose answers are scripted.

    The n-th run of this agent in a session answers with ``replies[n]`` (the last reply repeats).
    The count lives in the session's ``scripted`` namespace, not on this object, so one agent
    serves many sessions at once, exactly as a real framework agent must.

    Args:
        name: The agent's name.
        replies: Answers in order; each a string or a function of the :class:`RunContext`.
        delay: Seconds each run takes before it answers (to test overlap, leases and timeouts).
        pace: Seconds between streamed words (to test what happens mid-answer).
        description: Shown in agent listings.
    """

    def __init__(
        self,
        name: str = "assistant",
        replies: Sequence[Reply] | Reply | None = None,
        *,
        delay: float = 0.0,
        pace: float = 0.0,
        description: str = "",
    ) -> None:
        if replies is None:
            replies = [echo]
        elif isinstance(replies, str) or callable(replies):
            replies = [replies]
        if not replies:
            raise ValueError("ScriptedAgent needs at least one reply")
        self.name = name
        self.replies: tuple[Reply, ...] = tuple(replies)
        self.delay = delay
        self.pace = pace
        self.description = description

    def __repr__(self) -> str:
        return f"ScriptedAgent({self.name!r}, replies={len(self.replies)})"


class ScriptedAdapter:
    """Runs :class:`ScriptedAgent` objects. Its namespace is ``scripted``."""

    name = "scripted"

    def recognizes(self, agent: object) -> bool:
        """Whether ``agent`` is a :class:`ScriptedAgent`."""
        return isinstance(agent, ScriptedAgent)

    def agent_name(self, agent: object) -> str:
        """The agent's own name."""
        return agent.name if isinstance(agent, ScriptedAgent) else "scripted"

    async def run(self, agent: object, context: RunContext) -> AdapterResult:
        """Answer with the next scripted reply and count the run in the namespace."""
        return await result_of(self.stream(agent, context))

    async def stream(self, agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
        """Like :meth:`run`, streaming the answer word by word."""
        if not isinstance(agent, ScriptedAgent):
            raise TypeError(f"ScriptedAdapter cannot run {type(agent).__name__}")
        started = time.time()
        counter = f"{context.agent_name}:turns"
        count = int(context.state.get(counter, 0))
        reply = agent.replies[min(count, len(agent.replies) - 1)]
        if agent.delay:
            await asyncio.sleep(agent.delay)
        if isinstance(reply, str):
            text = reply
        else:
            produced = reply(context)
            text = await produced if inspect.isawaitable(produced) else produced
        words = text.split(" ")
        for i, word in enumerate(words):
            if i and agent.pace:
                await asyncio.sleep(agent.pace)
            yield RunEvent(type="delta", text=word if i == len(words) - 1 else word + " ")
        usage = Usage(
            input_tokens=sum(len(m.content.split()) for m in context.messages),
            output_tokens=len(text.split()),
            requests=1,
        )
        usage = usage.model_copy(update={"total_tokens": usage.input_tokens + usage.output_tokens})
        step = Step(
            kind="model_call",
            name="scripted",
            agent=context.agent_name,
            result=text,
            started_at=started,
            ended_at=time.time(),
            usage=usage,
        )
        yield RunEvent(type="step", step=step)
        context.state[counter] = count + 1
        context.state[f"{context.agent_name}:last_prompt"] = context.prompt
        yield RunEvent(type="result", result=AdapterResult(output=text, steps=[step], usage=usage))
