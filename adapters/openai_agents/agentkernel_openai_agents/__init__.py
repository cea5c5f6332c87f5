"""Run OpenAI Agents SDK agents in agentkernel sessions.

Installing this distribution registers :class:`OpenAIAgentsAdapter` under the
``agentkernel.adapters`` entry point ``openai_agents``, so ``runner.run(agent, session, "hi")``
runs an ``agents.Agent`` with no further set-up. Importing this package does not import the SDK;
:mod:`agentkernel_openai_agents.testing` (a model for tests) does.

Example:
    >>> from agentkernel_openai_agents import OpenAIAgentsAdapter
    >>> OpenAIAgentsAdapter.name
    'openai_agents'
"""

from agentkernel_openai_agents.adapter import OpenAIAgentsAdapter, ToolApprovalPending, build_run_config
from agentkernel_openai_agents.history import feed_unseen_turns, input_items
from agentkernel_openai_agents.memory import DEFAULT_CHUNK_SIZE, NamespaceSession
from agentkernel_openai_agents.steps import StepRecorder

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "NamespaceSession",
    "OpenAIAgentsAdapter",
    "StepRecorder",
    "ToolApprovalPending",
    "build_run_config",
    "feed_unseen_turns",
    "input_items",
]
