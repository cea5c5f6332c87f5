from __future__ import annotations

import pytest
from agentkernel_langgraph.testing import FunctionChatModel
from langchain_core.messages import BaseMessage
from langgraph.graph import START, MessagesState, StateGraph

from agentkernel.stores.base import SessionStore
from agentkernel.testing.adapter_contract import AdapterContract, AgentMaker, Respond


def message_graph(respond: Respond) -> object:
    """A StateGraph over messages whose one model node answers with ``respond(texts)``."""
    model = FunctionChatModel(lambda messages: respond([m.text for m in messages]))

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_edge(START, "model")
    return builder.compile(name="probe")


class TestLangGraphAdapter(AdapterContract):
    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        return message_graph


class TestLangGraphAdapterOnRedis(TestLangGraphAdapter):
    """The same contract with every session kept in a real Redis."""

    @pytest.fixture
    async def store(self, redis_store: SessionStore) -> SessionStore:
        return redis_store
