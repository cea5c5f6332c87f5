from __future__ import annotations

import agentkernel
import agentkernel.testing


def test_public_api_is_pinned() -> None:
    assert sorted(agentkernel.__all__) == sorted(
        [
            "SHARED_NAMESPACE", "SYSTEM_NAMESPACE", "Adapter", "AdapterNotFound", "AdapterResult",
            "AgentKernelError", "AgentNotFound", "AgentRegistry", "AgentRunError", "AgentSpec", "ConfigError",
            "CorruptSession", "InMemoryStore", "InvalidSessionId", "InvalidValue", "Message", "MissingDependency",
            "Namespace", "ReadOnlyNamespace", "RunContext", "RunEvent", "Runner", "Session", "SessionBusy",
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
            "AdapterContract", "AgentMaker", "NetworkBlocked", "Reply", "Respond", "ScriptedAdapter",
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
