from __future__ import annotations

import pytest

from agentkernel.stores.base import SessionStore
from agentkernel.testing import ScriptedAgent
from agentkernel.testing.adapter_contract import AdapterContract, AgentMaker, Respond


class TestScriptedAdapter(AdapterContract):
    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        def make(respond: Respond) -> object:
            return ScriptedAgent(
                "probe",
                replies=[lambda ctx: respond([m.content for m in ctx.history_messages() + ctx.messages])],
            )

        return make


class TestScriptedAdapterOnRedis(TestScriptedAdapter):
    """The same contract with every session kept in a real Redis."""

    @pytest.fixture
    async def store(self, redis_store: SessionStore) -> SessionStore:
        return redis_store
