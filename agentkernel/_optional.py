"""One helper for optional dependencies: import on first use, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from agentkernel.errors import MissingDependency

__all__ = ["require"]


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise one clear error naming the install command.

    Args:
        module: The module to import, e.g. ``"redis.asyncio"``.
        extra: The agentkernel extra that installs it, e.g. ``"redis"``.
        feature: What needs it, for the message, e.g. ``"the Redis session store"``.

    Raises:
        MissingDependency: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(f"{feature} requires the '{extra}' extra: pip install 'agentkernel[{extra}]'") from exc
