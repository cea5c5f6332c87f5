"""Test kit for agentkernel users and plugin authors: scripted agents, contract suites, guards.

* :class:`ScriptedAgent` runs through the kernel with no framework and no model.
* :class:`StoreContract` is the suite every session store passes.
* :class:`AdapterContract` is the suite every runner adapter passes.
* :class:`ModelContract` is the model-based test (a Hypothesis state machine) every store
  passes.
* :func:`no_network` is a fixture that fails a test reaching beyond loopback.

The suites and the fixture need pytest (the model test also Hypothesis); they are imported on
first use, so programs that only use :class:`ScriptedAgent` do not pay for importing pytest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentkernel.testing.scripted import Reply, ScriptedAdapter, ScriptedAgent, echo

if TYPE_CHECKING:
    from agentkernel.testing.adapter_contract import AdapterContract, AgentMaker, Respond
    from agentkernel.testing.model_contract import ModelContract
    from agentkernel.testing.network import NetworkBlocked, no_network
    from agentkernel.testing.store_contract import StoreContract, StoreMaker, sample_turn

__all__ = [
    "AdapterContract",
    "AgentMaker",
    "ModelContract",
    "NetworkBlocked",
    "Reply",
    "Respond",
    "ScriptedAdapter",
    "ScriptedAgent",
    "StoreContract",
    "StoreMaker",
    "echo",
    "no_network",
    "sample_turn",
]

_LAZY = {
    "AdapterContract": "adapter_contract",
    "AgentMaker": "adapter_contract",
    "Respond": "adapter_contract",
    "ModelContract": "model_contract",
    "StoreContract": "store_contract",
    "StoreMaker": "store_contract",
    "sample_turn": "store_contract",
    "NetworkBlocked": "network",
    "no_network": "network",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkernel.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"agentkernel.testing.{module}"), name)
