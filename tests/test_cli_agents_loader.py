"""Loading agents from a module or a file: the convention and its errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentkernel.agents_loader import AgentsLoadError, load_agents, registry_from
from agentkernel.errors import ConfigError
from agentkernel.registry import AgentRegistry, AgentSpec
from agentkernel.testing import ScriptedAgent

Write = Callable[[str, str], Path]
HEADER = "from agentkernel.testing import ScriptedAgent\nfrom agentkernel import AgentRegistry, AgentSpec\n"


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Write]:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)

    def make(name: str, body: str) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(HEADER + body)
        return path

    yield make
    for name in set(sys.modules) - before:  # each test imports its modules afresh
        if name.startswith(("agentkernel_agents_", "loader_")):
            del sys.modules[name]


def test_a_list_of_agents(write: Write) -> None:
    path = write("loader_list", "agents = [ScriptedAgent('a', description='first'), ScriptedAgent('b')]\n")
    registry = load_agents(str(path))
    assert registry.names() == ["a", "b"]
    assert registry.get("a").description == "first"


def test_a_dict_names_the_agents(write: Write) -> None:
    path = write("loader_dict", "agents = {'first': ScriptedAgent('x'), 'second': ScriptedAgent('x')}\n")
    assert load_agents(str(path)).names() == ["first", "second"]


def test_a_registry_and_specs_keep_their_options(write: Write) -> None:
    body = "agents = AgentRegistry()\nagents.register(ScriptedAgent('a'), history='own', description='mine')\n"
    path = write("loader_registry", body)
    assert load_agents(str(path)).get("a").history == "own"
    spec = AgentSpec("named", ScriptedAgent("x"), history="own", description="d", options={"k": 1})
    registered = registry_from([spec]).get("named")
    assert (registered.history, registered.description, registered.options) == ("own", "d", {"k": 1})


def test_a_dotted_module_and_an_attribute(write: Write) -> None:
    write("loader_dotted", "team = [ScriptedAgent('t')]\nagents = [ScriptedAgent('default')]\n")
    assert load_agents("loader_dotted").names() == ["default"]
    assert load_agents("loader_dotted:team").names() == ["t"]


def test_module_level_agents_are_found_by_the_adapters(write: Write) -> None:
    body = "bot = ScriptedAgent('bot')\n_hidden = ScriptedAgent('hidden')\nhelper = len\nnumber = 3\n"
    path = write("loader_scan", body)
    assert load_agents(str(path)).names() == ["bot"]


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AgentsLoadError, match=r"no such file: .*nope\.py"):
        load_agents(str(tmp_path / "nope.py"))


def test_a_missing_module() -> None:
    with pytest.raises(AgentsLoadError, match="no module named 'no_such_module_xyz'"):
        load_agents("no_such_module_xyz")


def test_a_module_whose_import_fails_says_why(write: Write) -> None:
    write("loader_needs", "import not_installed_dependency_xyz\n")
    with pytest.raises(AgentsLoadError, match="importing loader_needs failed: ModuleNotFoundError") as caught:
        load_agents("loader_needs")
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    path = write("loader_raises", "raise RuntimeError('misconfigured')\n")
    with pytest.raises(AgentsLoadError, match="RuntimeError: misconfigured") as raised:
        load_agents(str(path))
    assert isinstance(raised.value, ConfigError)


def test_no_agents(write: Write) -> None:
    path = write("loader_empty", "x = 1\n")
    with pytest.raises(AgentsLoadError, match=r"no agents found in .*define `agents`"):
        load_agents(str(path))
    empty = write("loader_empty_list", "agents = []\n")
    with pytest.raises(AgentsLoadError, match="no agents found"):
        load_agents(str(empty))


def test_wrong_shapes(write: Write) -> None:
    with pytest.raises(AgentsLoadError, match="agents is a int; expected a list"):
        registry_from(5)
    with pytest.raises(AgentsLoadError, match="already registered"):
        registry_from([ScriptedAgent("same"), ScriptedAgent("same")])
    path = write("loader_attr", "agents = [ScriptedAgent('a')]\n")
    with pytest.raises(AgentsLoadError, match="has no attribute 'missing'"):
        load_agents(f"{path}:missing")


def test_a_registry_is_used_as_is() -> None:
    registry = AgentRegistry()
    registry.register(ScriptedAgent("a"))
    assert registry_from(registry) is registry
