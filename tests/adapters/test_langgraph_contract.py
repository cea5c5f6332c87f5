from __future__ import annotations

import pytest
from agentkernel_langgraph.testing import text_graph

from agentkernel.stores.base import SessionStore
from agentkernel.testing.adapter_contract import AdapterContract, AgentMaker


class TestLangGraphAdapter(AdapterContract):
    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        return text_graph


class TestLangGraphAdapterOnRedis(TestLangGraphAdapter):
    """The same contract with every session kept in a real Redis."""

    @pytest.fixture
    async def store(self, redis_store: SessionStore) -> SessionStore:
        return redis_store
