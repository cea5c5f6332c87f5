"""CrewAI runner adapter for agentkernel: crews and agents that share agentkernel sessions.

Installed, it registers under the ``agentkernel.adapters`` entry-point group as ``crewai``, so
``runner.run(crew, session, "prompt")`` picks it for any ``crewai.Crew`` or ``crewai.Agent``.
Importing this package does not import crewai.

Example:
    >>> from agentkernel_crewai import CrewAIAdapter
    >>> CrewAIAdapter.name
    'crewai'
"""

from agentkernel_crewai.adapter import DEFAULT_KEEP_RUNS, CrewAIAdapter
from agentkernel_crewai.crews import AGENT_TASK
from agentkernel_crewai.environment import CREWAI_DEFAULTS, quiet_crewai

__all__ = ["AGENT_TASK", "CREWAI_DEFAULTS", "DEFAULT_KEEP_RUNS", "CrewAIAdapter", "quiet_crewai"]
