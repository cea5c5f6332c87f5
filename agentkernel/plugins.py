"""Adapters and stores found through entry points, the same way for built-ins and third parties.

Listing plugins reads package metadata only and imports nothing. Loading one imports it; a plugin
that fails to import is reported (and logged) without breaking the others.

Entry-point groups:
    ``agentkernel.adapters``: an object (usually a class) whose instances implement
    :class:`agentkernel.adapter.Adapter`.
    ``agentkernel.session_stores``: a store class with ``options_model`` and ``from_options``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from agentkernel.errors import ConfigError, MissingDependency

__all__ = ["ADAPTER_GROUP", "STORE_GROUP", "PluginInfo", "list_plugins", "load_plugin"]

ADAPTER_GROUP = "agentkernel.adapters"
STORE_GROUP = "agentkernel.session_stores"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A plugin as its package metadata describes it (nothing imported).

    Attributes:
        group: The entry-point group.
        name: The name it is selected by.
        target: ``module:attribute`` it points at.
        distribution: The installed distribution that provides it.
        version: That distribution's version.
    """

    group: str
    name: str
    target: str
    distribution: str
    version: str


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    return found


def list_plugins(group: str) -> list[PluginInfo]:
    """The plugins installed in ``group``, sorted by name. Imports none of them."""
    infos = []
    for name, ep in sorted(_entry_points(group).items()):
        dist = ep.dist
        infos.append(
            PluginInfo(
                group=group,
                name=name,
                target=ep.value,
                distribution=dist.name if dist is not None else "?",
                version=dist.version if dist is not None else "?",
            )
        )
    return infos


def load_plugin(group: str, name: str) -> object:
    """Import and return the plugin ``name`` of ``group``.

    Raises:
        ConfigError: no plugin has that name (the message lists the known ones) or it failed to
            import.
        MissingDependency: the plugin needs an extra that is not installed.
    """
    ep = _entry_points(group).get(name)
    if ep is None:
        known = ", ".join(sorted(_entry_points(group))) or "none installed"
        raise ConfigError(f"no plugin {name!r} in {group}; known: {known}")
    try:
        return ep.load()
    except MissingDependency:
        raise
    except Exception as exc:  # a broken third-party plugin must not take the process down
        logger.warning("plugin %s in %s failed to load: %r", name, group, exc)
        raise ConfigError(
            f"plugin {name!r} ({ep.value}) failed to load: {exc!r}; reinstall or remove its package"
        ) from exc
