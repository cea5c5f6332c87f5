"""The import path the product documentation uses: ``from agentkernel.core import Session, Runner``.

The same names are exported from :mod:`agentkernel`; this module keeps the documented path working.
"""

from agentkernel.runner import Runner
from agentkernel.session import Session

__all__ = ["Runner", "Session"]
