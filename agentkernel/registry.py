"""Agents by name, and the adapter that runs each agent object.

Adapters are found through the ``agentkernel.adapters`` entry points and loaded on first need; an
adapter that fails to load is logged and skipped, and the others still work.

Example:
    >>> from agentkernel.testing import ScriptedAgent
    >>> registry = AgentRegistry()
    >>> spec = registry.register(ScriptedAgent("assistant"))
    >>> spec.name
    'assistant'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from agentkernel.adapter import Adapter, HistoryScope
from agentkernel.errors import AdapterNotFound, AgentNotFound, ConfigError
from agentkernel.plugins import ADAPTER_GROUP, list_plugins, load_plugin

__all__ = ["AdapterSet", "AgentRegistry", "AgentSpec"]

logger = logging.getLogger(__name__)


class AdapterSet:
    """The installed adapters, loaded lazily and asked in name order which one runs an agent."""

    def __init__(self, adapters: list[Adapter] | None = None) -> None:
        self._adapters = adapters
        self.errors: dict[str, str] = {}

    def _loaded(self) -> list[Adapter]:
        if self._adapters is None:
            loaded: list[Adapter] = []
            for info in list_plugins(ADAPTER_GROUP):
                try:
                    factory = load_plugin(ADAPTER_GROUP, info.name)
                    adapter = factory() if isinstance(factory, type) else factory
                except ConfigError as exc:  # broken or missing extra: report, keep the others
                    self.errors[info.name] = str(exc)
                    logger.warning("adapter %s unavailable: %s", info.name, exc)
                    continue
                loaded.append(adapter)  # type: ignore[arg-type]
            self._adapters = loaded
        return self._adapters

    def get(self, name: str) -> Adapter:
        """The adapter called ``name``.

        Raises:
            AdapterNotFound: none is installed under that name.
        """
        for adapter in self._loaded():
            if adapter.name == name:
                return adapter
        raise AdapterNotFound(self._missing(f"no adapter named {name!r}"))

    def for_agent(self, agent: object) -> Adapter:
        """The first adapter that recognises ``agent``.

        Raises:
            AdapterNotFound: no installed adapter recognises it.
        """
        for adapter in self._loaded():
            if adapter.recognizes(agent):
                return adapter
        return self._fail(agent)

    def _fail(self, agent: object) -> Adapter:
        kind = f"{type(agent).__module__}.{type(agent).__qualname__}"
        raise AdapterNotFound(
            self._missing(f"no installed adapter recognises a {kind}")
            + "; install the framework's extra, e.g. pip install 'agentkernel[langgraph]'"
        )

    def _missing(self, what: str) -> str:
        names = ", ".join(a.name for a in self._loaded()) or "none"
        broken = "".join(f"; {name} failed to load: {err}" for name, err in self.errors.items())
        return f"{what} (installed adapters: {names}{broken})"


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent as registered.

    Attributes:
        name: The name it runs under and is recorded with in turns.
        agent: The framework's agent object.
        adapter: The adapter's name, or ``None`` to pick it by recognising the object.
        history: ``session`` to show the agent every earlier turn of the session, ``own`` for
            only the turns it took itself.
        description: Shown by ``GET /agents`` and the CLI.
        options: Extra per-agent options passed to the adapter.
    """

    name: str
    agent: object
    adapter: str | None = None
    history: HistoryScope = "session"
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)


class AgentRegistry:
    """Agents by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, AgentSpec] = {}

    def register(
        self,
        agent: object,
        *,
        name: str | None = None,
        adapter: str | None = None,
        history: HistoryScope = "session",
        description: str = "",
        **options: Any,
    ) -> AgentSpec:
        """Register ``agent`` under ``name`` (default: the name its framework gives it).

        Raises:
            ValueError: another agent already has that name, or ``history`` is not valid.
        """
        if history not in ("session", "own"):
            raise ValueError(f"history must be 'session' or 'own', got {history!r}")
        spec_name = name or _natural_name(agent)
        existing = self._by_name.get(spec_name)
        if existing is not None and existing.agent is not agent:
            raise ValueError(f"an agent named {spec_name!r} is already registered; pass name=... to tell them apart")
        spec = AgentSpec(spec_name, agent, adapter, history, description, dict(options))
        self._by_name[spec_name] = spec
        return spec

    def get(self, name: str) -> AgentSpec:
        """The agent registered as ``name``.

        Raises:
            AgentNotFound: none is; the message lists the known names.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise AgentNotFound(name, list(self._by_name)) from None

    def find(self, agent: object) -> AgentSpec | None:
        """The registration of this very agent object, if any."""
        for spec in self._by_name.values():
            if spec.agent is agent:
                return spec
        return None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._by_name)

    def __iter__(self) -> Any:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)


def _natural_name(agent: object) -> str:
    for attr in ("name", "role"):
        value = getattr(agent, attr, None)
        if isinstance(value, str) and value:
            return value
    raise ValueError(f"{type(agent).__name__} has no name; register it with name=...")
