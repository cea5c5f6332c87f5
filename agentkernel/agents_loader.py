"""Load the agents a module or a Python file defines, for the CLI and the HTTP service.

The convention, in order of preference:

1. The module has an ``agents`` attribute: an :class:`~agentkernel.AgentRegistry`, a dict of
   name -> agent, or a list of agents (or of :class:`~agentkernel.AgentSpec`).
2. Otherwise every public module-level object that an installed adapter recognises is an agent
   (a LangGraph graph, an OpenAI Agents SDK ``Agent``, a CrewAI ``Crew``, a ``ScriptedAgent``...).

A source is a file path (``examples/assistant.py``) or a dotted module (``mypkg.agents``), either
optionally followed by ``:attribute`` to name the attribute holding the agents.

Example:
    >>> from agentkernel.testing import ScriptedAgent
    >>> registry_from([ScriptedAgent("helper")]).names()
    ['helper']
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType

from agentkernel.errors import AdapterNotFound, ConfigError
from agentkernel.registry import AdapterSet, AgentRegistry, AgentSpec

__all__ = ["AgentsLoadError", "import_source", "load_agents", "registry_from"]

_CONVENTION = (
    "define `agents` in it (a list of agents, a dict of name -> agent, or an agentkernel.AgentRegistry), "
    "or module-level agent objects of an installed framework"
)


class AgentsLoadError(ConfigError):
    """A module or file of agents could not be found, imported, or holds no agents."""


def load_agents(source: str, *, adapters: AdapterSet | None = None) -> AgentRegistry:
    """Import ``source`` and return its agents as a registry.

    Args:
        source: ``path/to/file.py`` or ``package.module``, optionally with ``:attribute``.
        adapters: The adapters that recognise module-level agent objects (default: installed ones).

    Raises:
        AgentsLoadError: the file or module is missing, fails to import, or defines no agents.
    """
    target, _, attribute = _split(source)
    module = import_source(target)
    if attribute:
        if not hasattr(module, attribute):
            raise AgentsLoadError(f"{target} has no attribute {attribute!r}; {_CONVENTION}")
        return _checked(registry_from(getattr(module, attribute), where=source), source)
    return agents_of_module(module, source=source, adapters=adapters)


def agents_of_module(module: ModuleType, *, source: str, adapters: AdapterSet | None = None) -> AgentRegistry:
    """The agents an imported module defines, by the convention in this module's docstring.

    Raises:
        AgentsLoadError: the module defines no agents.
    """
    declared = getattr(module, "agents", None)
    if declared is not None:
        return _checked(registry_from(declared, where=f"{source}: agents"), source)
    adapters = adapters if adapters is not None else AdapterSet()
    registry = AgentRegistry()
    for name, value in vars(module).items():
        if name.startswith("_") or _is_plumbing(value):
            continue
        try:
            adapters.for_agent(value)
        except AdapterNotFound:
            continue
        try:
            registry.register(value, name=_name_of(value, name))
        except ValueError as exc:
            raise AgentsLoadError(f"{source}: {exc}; or list them in `agents` to name them") from None
    return _checked(registry, source)


def registry_from(agents: object, *, where: str = "agents") -> AgentRegistry:
    """Turn an ``AgentRegistry``, a dict of name -> agent, or a list of agents into a registry.

    Raises:
        AgentsLoadError: ``agents`` is none of those, or two agents share a name.
    """
    if isinstance(agents, AgentRegistry):
        return agents
    registry = AgentRegistry()
    try:
        if isinstance(agents, Mapping):
            for name, agent in agents.items():
                _register(registry, agent, name=str(name))
        elif isinstance(agents, Iterable) and not isinstance(agents, str | bytes):
            for agent in agents:
                _register(registry, agent, name=None)
        else:
            raise AgentsLoadError(
                f"{where} is a {type(agents).__name__}; expected a list of agents, a dict of name -> agent, "
                "or an agentkernel.AgentRegistry"
            )
    except ValueError as exc:
        raise AgentsLoadError(f"{where}: {exc}") from None
    return registry


def import_source(target: str) -> ModuleType:
    """Import a file path or a dotted module name.

    Raises:
        AgentsLoadError: it does not exist or raised while importing.
    """
    if target.endswith(".py") or os.sep in target or "/" in target:
        return _import_file(Path(target))
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # like `python -m`: modules in the working directory
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise AgentsLoadError(
                f"no module named {target!r}: pass a file path (path/to/agents.py) or an importable module"
            ) from None
        raise AgentsLoadError(f"importing {target} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # the user's module raised; say which and what, keep the cause chained
        raise AgentsLoadError(f"importing {target} failed: {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise AgentsLoadError(f"no such file: {path} (give the path of a Python file that defines agents)")
    resolved = path.resolve()
    name = "agentkernel_agents_" + "".join(c if c.isalnum() else "_" for c in resolved.stem)
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise AgentsLoadError(f"{path} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # like `python file.py`: its siblings are importable
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file raised; say which and what, keep the cause chained
        sys.modules.pop(name, None)
        raise AgentsLoadError(
            f"importing {path} failed: {type(exc).__name__}: {exc} (run `python {path}` to see the traceback)"
        ) from exc
    return module


def _split(source: str) -> tuple[str, str, str]:
    target, sep, attribute = source.rpartition(":")
    if not sep or not attribute.isidentifier():
        return source, "", ""
    return target, sep, attribute


def _register(registry: AgentRegistry, agent: object, *, name: str | None) -> None:
    if isinstance(agent, AgentSpec):
        registry.register(
            agent.agent,
            name=name or agent.name,
            adapter=agent.adapter,
            history=agent.history,
            description=agent.description,
            **agent.options,
        )
    else:
        description = getattr(agent, "description", "")
        registry.register(agent, name=name, description=description if isinstance(description, str) else "")


def _is_plumbing(value: object) -> bool:
    return inspect.ismodule(value) or inspect.isclass(value) or inspect.isroutine(value)


def _name_of(agent: object, variable: str) -> str:
    for attr in ("name", "role"):
        value = getattr(agent, attr, None)
        if isinstance(value, str) and value:
            return value
    return variable


def _checked(registry: AgentRegistry, source: str) -> AgentRegistry:
    if not len(registry):
        raise AgentsLoadError(f"no agents found in {source}; {_CONVENTION}")
    return registry
