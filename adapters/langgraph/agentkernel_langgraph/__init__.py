"""LangGraph for agentkernel: compiled graphs run in sessions and keep their checkpoints there.

Installed with ``pip install 'agentkernel[langgraph]'``; the runner finds the adapter through the
``agentkernel.adapters`` entry point, so ``await runner.run(graph, session, "hi")`` just works.

Importing this package does not import LangGraph. :class:`NamespaceSaver` and
:func:`safe_serializer` load it on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkernel_langgraph.adapter import LangGraphAdapter
from agentkernel_langgraph.options import DEFAULT_KEEP, GraphOptions

if TYPE_CHECKING:
    from agentkernel_langgraph.saver import NamespaceSaver, safe_serializer

__all__ = ["DEFAULT_KEEP", "GraphOptions", "LangGraphAdapter", "NamespaceSaver", "safe_serializer"]

_LAZY = {"NamespaceSaver", "safe_serializer"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from agentkernel_langgraph import saver

        return getattr(saver, name)
    raise AttributeError(f"module 'agentkernel_langgraph' has no attribute {name!r}")
