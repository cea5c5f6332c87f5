"""The names the seed documents import from ``agentkernel.core``: ``from agentkernel.core import Session``."""

from agentkernel.runner import Runner
from agentkernel.session import Session

__all__ = ["Runner", "Session"]
