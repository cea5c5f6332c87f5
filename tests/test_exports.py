from __future__ import annotations

from types import ModuleType

import agentkernel
import agentkernel.testing


def test_public_api_is_pinned() -> None:
    assert sorted(agentkernel.__all__) == sorted(
        [
            "SHARED_NAMESPACE", "SYSTEM_NAMESPACE", "Adapter", "AdapterNotFound", "AdapterResult",
            "AgentKernelError", "AgentNotFound", "AgentRegistry", "AgentRunError", "AgentSpec", "ConfigError",
            "CorruptSession", "InMemoryStore", "InvalidSessionId", "InvalidValue", "LeaseLost", "Message",
            "MissingDependency", "Namespace", "ReadOnlyNamespace", "RunContext", "RunEvent", "Runner", "Session",
            "SessionBusy",
            "SessionChange", "SessionConflict", "SessionMeta", "SessionNotFound", "SessionPage", "SessionStore",
            "SessionTooLarge", "Sessions", "Settings", "Step", "StoreUnavailable", "StreamingAdapter", "Turn",
            "TurnError", "Usage", "__version__", "load_settings", "open_store",
        ]
    )  # fmt: skip
    for name in agentkernel.__all__:
        assert hasattr(agentkernel, name), name


def test_testing_kit_is_pinned() -> None:
    assert sorted(agentkernel.testing.__all__) == sorted(
        [
            "AdapterContract", "AgentMaker", "ModelContract", "NetworkBlocked", "Reply", "Respond", "ScriptedAdapter",
            "ScriptedAgent", "StoreContract", "StoreMaker", "echo", "no_network", "sample_turn",
        ]
    )  # fmt: skip


def test_every_error_descends_from_the_root() -> None:
    import inspect

    from agentkernel import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert inspect.isclass(cls) and issubclass(cls, errors.AgentKernelError), name
        assert name in (errors.__doc__ or ""), f"{name} is missing from the family drawn in the docstring"


def test_core_import_pulls_in_no_framework_or_driver() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agentkernel, agentkernel.runner, agentkernel.testing\n"
        "print([m for m in ('redis', 'boto3', 'langgraph', 'agents', 'crewai', 'fastapi') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_scripted_agents_do_not_import_pytest() -> None:
    import subprocess
    import sys

    code = "import sys\nfrom agentkernel.testing import ScriptedAgent\nprint('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_documented_import_paths_keep_working() -> None:
    import importlib

    from agentkernel.cli import CLI
    from agentkernel.core import Runner, Session
    from agentkernel.http import create_app

    assert callable(CLI.main) and callable(create_app)
    assert Session is agentkernel.Session and Runner is agentkernel.Runner
    module, _, attr = "agentkernel.http:create_app".partition(":")
    assert getattr(importlib.import_module(module), attr) is create_app


def test_entry_points_and_console_script_resolve() -> None:
    from importlib.metadata import entry_points

    from agentkernel.stores.dynamodb import DynamoDBStore
    from agentkernel.stores.memory import InMemoryStore
    from agentkernel.stores.redis import RedisStore

    stores = {ep.name: ep.load() for ep in entry_points(group="agentkernel.session_stores")}
    assert stores["in_memory"] is InMemoryStore
    assert stores["redis"] is RedisStore
    assert stores["dynamodb"] is DynamoDBStore
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "agentkernel"]
    from agentkernel.cli import app

    assert script.load() is app


def test_python_m_agentkernel_cli_runs_the_command() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "agentkernel.cli", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "serve" in out.stdout and "chat" in out.stdout


def test_subpackages_expose_only_their_public_surface() -> None:
    import importlib
    import pkgutil

    for package in ("agentkernel.cli", "agentkernel.http", "agentkernel.stores.redis", "agentkernel.stores.dynamodb"):
        module = importlib.import_module(package)
        private = [m.name for m in pkgutil.iter_modules(module.__path__) if m.name != "__main__"]
        assert private and all(name.startswith("_") for name in private), (package, private)
        for name in module.__all__:
            assert hasattr(module, name), (package, name)


def _import_everything() -> list[ModuleType]:
    """Every agentkernel module and the three adapter packages, imported."""
    import importlib
    import pkgutil

    names = ["agentkernel", "agentkernel_langgraph", "agentkernel_openai_agents", "agentkernel_crewai"]
    modules: list[ModuleType] = []
    for name in names:
        package = importlib.import_module(name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if not info.name.endswith("__main__"):  # running it would start the command
                modules.append(importlib.import_module(info.name))
    return modules


TEST_KIT_ERRORS = {"NetworkBlocked", "RedisServerError"}
"""Errors of the testing kit's fixtures, not of the kernel: a blocked connection is a failed
assertion (``AssertionError``) by design, and a redis-server that will not start is a fixture error."""


def test_every_error_is_in_the_family_and_in_the_tree() -> None:
    import inspect

    from agentkernel import errors

    modules = _import_everything()

    def descendants(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        for sub in list(found):
            found |= descendants(sub)
        return found

    family = {cls for cls in descendants(errors.AgentKernelError) if not cls.__module__.startswith("tests")}
    assert len(family) >= 18
    tree = errors.__doc__ or ""
    for cls in family:
        assert f"── {cls.__name__} " in tree, f"{cls.__qualname__} ({cls.__module__}) is missing from the tree"
    public = [m for m in modules if not any(part.startswith("_") for part in m.__name__.split("."))]
    for module in public:
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if inspect.isclass(value) and issubclass(value, BaseException) and name not in TEST_KIT_ERRORS:
                assert issubclass(value, errors.AgentKernelError), f"{module.__name__}.{name} is outside the family"
