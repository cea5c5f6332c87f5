from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from agentkernel import ConfigError, MissingDependency, Runner
from agentkernel._optional import require
from agentkernel.plugins import ADAPTER_GROUP, STORE_GROUP, _entry_points, list_plugins, load_plugin
from agentkernel.registry import AdapterSet
from agentkernel.settings import load_settings
from agentkernel.testing import ScriptedAgent


def test_listing_plugins_imports_none_of_them() -> None:
    code = (
        "import sys\n"
        "from agentkernel.plugins import list_plugins, ADAPTER_GROUP, STORE_GROUP\n"
        "found = list_plugins(ADAPTER_GROUP) + list_plugins(STORE_GROUP)\n"
        "assert {'in_memory', 'redis', 'dynamodb', 'scripted'} <= {p.name for p in found}, found\n"
        "heavy = [m for m in ('redis', 'boto3', 'langgraph', 'agents', 'crewai', 'agentkernel.stores.redis',"
        " 'agentkernel.stores.dynamodb', 'agentkernel.testing.scripted') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugin_info_names_the_distribution() -> None:
    (store,) = [p for p in list_plugins(STORE_GROUP) if p.name == "in_memory"]
    assert store.distribution == "agentkernel" and store.target == "agentkernel.stores.memory:InMemoryStore"
    assert store.version


def test_unknown_plugin_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known: .*in_memory"):
        load_plugin(STORE_GROUP, "nosuch")


@pytest.fixture
def broken_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    real = dict(_entry_points(ADAPTER_GROUP))
    real["broken"] = EntryPoint(name="broken", value="agentkernel_no_such_module:Adapter", group=ADAPTER_GROUP)
    original = _entry_points
    monkeypatch.setattr(
        "agentkernel.plugins._entry_points", lambda group: real if group == ADAPTER_GROUP else original(group)
    )


async def test_a_broken_adapter_is_reported_and_the_others_still_work(broken_adapter: None) -> None:
    adapters = AdapterSet()
    runner = Runner(settings=load_settings(), adapters=adapters)
    turn = await runner.run(ScriptedAgent(replies="still fine"), None, "hi")
    assert turn.output == "still fine"
    assert "broken" in adapters.errors and "failed to load" in adapters.errors["broken"]


def test_missing_extra_names_the_install_command() -> None:
    with pytest.raises(MissingDependency) as caught:
        require("agentkernel_not_installed_module", extra="redis", feature="the Redis session store")
    assert str(caught.value) == "the Redis session store requires the 'redis' extra: pip install 'agentkernel[redis]'"
    assert isinstance(caught.value, ImportError)
