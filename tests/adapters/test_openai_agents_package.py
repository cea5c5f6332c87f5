"""The agentkernel_openai_agents package: its public names, and that importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import agentkernel_openai_agents
from agentkernel_openai_agents import OpenAIAgentsAdapter

from agentkernel.adapter import Adapter, StreamingAdapter


def test_public_api_is_pinned() -> None:
    assert sorted(agentkernel_openai_agents.__all__) == [
        "DEFAULT_CHUNK_SIZE",
        "NamespaceSession",
        "OpenAIAgentsAdapter",
        "StepRecorder",
        "ToolApprovalPending",
        "build_run_config",
        "feed_unseen_turns",
        "input_items",
    ]


def test_the_adapter_implements_both_protocols() -> None:
    adapter = OpenAIAgentsAdapter()
    assert isinstance(adapter, Adapter)
    assert isinstance(adapter, StreamingAdapter)
    assert adapter.name == "openai_agents"


def test_importing_the_package_does_not_import_the_sdk() -> None:
    code = (
        "import sys, agentkernel_openai_agents as p\n"
        "p.OpenAIAgentsAdapter().recognizes(object())\n"
        "print('agents' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
