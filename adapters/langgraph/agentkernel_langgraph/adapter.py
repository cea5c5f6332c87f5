"""The LangGraph runner adapter: compiled graphs keep their checkpoints in the session.

Importing this module does not import LangGraph; recognising an agent imports it only for
objects whose class comes from LangGraph, and running one imports the rest.

Example:
    >>> adapter = LangGraphAdapter()
    >>> adapter.recognizes(object())
    False
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agentkernel._optional import require
from agentkernel.adapter import AdapterResult, RunContext, RunEvent, result_of
from agentkernel_langgraph.options import DEFAULT_KEEP, GraphOptions

if TYPE_CHECKING:
    from langgraph.pregel import Pregel

__all__ = ["LangGraphAdapter"]

_FEATURE = "the LangGraph adapter"


class LangGraphAdapter:
    """Runs compiled LangGraph graphs (``StateGraph(...).compile()``, prebuilt agents, any Pregel).

    Each run gives the graph a checkpointer over this adapter's namespace of the session
    (``langgraph``), with the session id as thread id, through the run config; the compiled graph
    is never modified, so one graph serves many sessions at once. Memory across turns comes from
    those checkpoints; turns other agents took in the session since the graph last ran are given
    to it as earlier messages. An ``interrupt()`` pauses the turn (status ``interrupted``, output
    the interrupt's value); the agent's next run resumes the graph with that run's prompt.

    Per-agent options (``runner.register(graph, name=..., **options)``): see
    :class:`~agentkernel_langgraph.options.GraphOptions`.

    Args:
        keep_checkpoints: Earlier checkpoints kept per graph besides the latest, unless an
            agent's options say otherwise.

    Raises:
        ValueError: ``keep_checkpoints`` is negative.
    """

    name = "langgraph"

    def __init__(self, *, keep_checkpoints: int = DEFAULT_KEEP) -> None:
        if keep_checkpoints < 0:
            raise ValueError(f"keep_checkpoints must be 0 or more, got {keep_checkpoints}")
        self.keep_checkpoints = keep_checkpoints

    def recognizes(self, agent: object) -> bool:
        """Whether ``agent`` is a compiled LangGraph graph (a ``Pregel``).

        Objects whose classes do not come from LangGraph are refused without importing it.
        """
        if not any(cls.__module__.startswith("langgraph.") for cls in type(agent).__mro__):
            return False
        pregel = require("langgraph.pregel", extra="langgraph", feature=_FEATURE)
        return isinstance(agent, pregel.Pregel)

    def agent_name(self, agent: object) -> str:
        """The graph's own name (``LangGraph`` unless it was compiled with ``name=...``)."""
        name = getattr(agent, "name", None)
        return name if isinstance(name, str) and name else "langgraph"

    async def run(self, agent: object, context: RunContext) -> AdapterResult:
        """Run the graph once; see :meth:`stream`."""
        return await result_of(self.stream(agent, context))

    async def stream(self, agent: object, context: RunContext) -> AsyncIterator[RunEvent]:
        """Run the graph once, yielding text deltas, steps, and finally one ``result`` event.

        Raises:
            TypeError: ``agent`` is not a compiled graph.
            ValueError: an unknown or invalid agent option.
        """
        graph = self._graph(agent)
        options = GraphOptions.parse(context.options, keep_checkpoints=self.keep_checkpoints)
        from agentkernel_langgraph.run import stream_graph

        async for event in stream_graph(graph, context, options):
            yield event

    def _graph(self, agent: object) -> Pregel[Any, Any, Any, Any]:
        pregel = require("langgraph.pregel", extra="langgraph", feature=_FEATURE)
        if not isinstance(agent, pregel.Pregel):
            raise TypeError(
                f"the LangGraph adapter runs compiled graphs, not {type(agent).__name__}; "
                "call .compile() on a StateGraph first"
            )
        graph: Pregel[Any, Any, Any, Any] = agent
        return graph
