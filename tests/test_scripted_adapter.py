from __future__ import annotations

import pytest

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
