"""One run of a compiled LangGraph graph inside a session: input, checkpointer, events, result.

This module imports LangGraph; :mod:`agentkernel_langgraph.adapter` imports it only when a graph
actually runs, so listing adapters stays cheap.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.constants import CONFIG_KEY_CHECKPOINTER
from langgraph.pregel import Pregel
from langgraph.types import Command, Interrupt

from agentkernel.adapter import AdapterResult, RunContext, RunEvent
from agentkernel.history import adopt_cursor
from agentkernel.transcript import Step
from agentkernel_langgraph.messages import StepRecorder, as_text, jsonable, to_langchain
from agentkernel_langgraph.options import GraphOptions
from agentkernel_langgraph.saver import NamespaceSaver

__all__ = ["PAUSED_KEY", "stream_graph"]

_OLD_SEEN_KEY = "turns_seen"
"""Where releases before the shared seen cursor (agentkernel.history) kept it, per agent."""

PAUSED_KEY = "paused"
"""Per agent: the ids of the ``interrupt()`` calls the graph waits at for a resume value."""


async def stream_graph(
    graph: Pregel[Any, Any, Any, Any], context: RunContext, options: GraphOptions
) -> AsyncIterator[RunEvent]:
    """Run ``graph`` once for ``context``, yielding deltas and steps, then one ``result`` event.

    The graph gets a :class:`NamespaceSaver` over ``context.state`` through its run config, with
    the session id as thread id; the graph object itself is never changed.

    Raises:
        ValueError: the graph was compiled with ``checkpointer=False`` and cannot keep memory.
    """
    if graph.checkpointer is False:
        raise ValueError(
            f"graph {graph.name!r} was compiled with checkpointer=False, so it cannot keep memory in the "
            "session; compile it without a checkpointer and the adapter provides one"
        )
    prefix = f"{context.agent_name}/"
    state = context.state
    saver = NamespaceSaver(state, thread_id=context.session.id, prefix=prefix, keep=options.keep_checkpoints)
    config: RunnableConfig = {"configurable": {"thread_id": context.session.id, CONFIG_KEY_CHECKPOINTER: saver}}

    graph_input: dict[str, Any] | Command[Any]
    waiting = state.get(prefix + PAUSED_KEY)
    if waiting:
        # One answer per run: with several pending interrupts it goes to the first one the
        # paused turn showed, and the graph pauses again at the others.
        graph_input = Command(resume={waiting[0]: context.prompt} if len(waiting) > 1 else context.prompt)
    else:
        # The graph's own turns are in its checkpoints; the others it has not seen come first.
        adopt_cursor(state, context.agent_name, prefix + _OLD_SEEN_KEY, offset=0)
        unseen = context.unseen_history_messages("langgraph")
        graph_input = {options.input_key: to_langchain([*unseen, *context.messages])}

    recorder = StepRecorder(context.agent_name)
    interrupts: list[Interrupt] = []
    stream = cast(
        AsyncGenerator[tuple[str, Any], None],
        graph.astream(graph_input, config, stream_mode=["messages", "updates"], durability=options.durability),
    )
    try:
        async for mode, chunk in stream:
            if mode == "messages":
                message = chunk[0]
                if isinstance(message, (AIMessage, AIMessageChunk)) and message.text:
                    yield RunEvent(type="delta", text=message.text)
            elif mode == "updates":
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        interrupts.extend(update)
                        continue
                    for step in recorder.feed(node, update):
                        yield RunEvent(type="step", step=step)
    finally:
        await stream.aclose()  # also when the consumer stops early: the graph's tasks end now

    if interrupts:
        state[prefix + PAUSED_KEY] = [i.id for i in interrupts]
        output = "\n".join(as_text(i.value) for i in interrupts)
        for found in interrupts:
            step = Step(kind="interrupt", name=graph.name, agent=context.agent_name, result=jsonable(found.value))
            recorder.steps.append(step)
            yield RunEvent(type="step", step=step)
        result = AdapterResult(
            output=output,
            steps=recorder.steps,
            usage=recorder.usage(),
            status="interrupted",
            metadata={"interrupt_ids": [i.id for i in interrupts]},
        )
    else:
        if prefix + PAUSED_KEY in state:
            del state[prefix + PAUSED_KEY]
        result = AdapterResult(output=recorder.last_answer or "", steps=recorder.steps, usage=recorder.usage())
    yield RunEvent(type="result", result=result)

