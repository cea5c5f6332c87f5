"""Test kit for agentkernel users and plugin authors: scripted agents, contract suites, guards.

* :class:`ScriptedAgent` runs through the kernel with no framework and no model.
* :class:`StoreContract` is the suite every session store passes.
* :func:`no_network` is a fixture that fails a test reaching beyond loopback.
"""

from agentkernel.testing.adapter_contract import AdapterContract, AgentMaker, Respond
from agentkernel.testing.contract import StoreContract, StoreMaker, sample_turn
from agentkernel.testing.network import NetworkBlocked, no_network
from agentkernel.testing.scripted import Reply, ScriptedAdapter, ScriptedAgent, echo

__all__ = [
    "AdapterContract",
    "AgentMaker",
    "NetworkBlocked",
    "Respond",
    "Reply",
    "ScriptedAdapter",
    "ScriptedAgent",
    "StoreContract",
    "StoreMaker",
    "echo",
    "no_network",
    "sample_turn",
]
