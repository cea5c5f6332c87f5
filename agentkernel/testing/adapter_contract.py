"""The adapter contract suite: what every runner adapter does, checked through the real Runner.

Subclass :class:`AdapterContract` and provide ``make_agent``: given ``respond``, return one of your
framework's agent objects whose scripted model answers every model call with
``respond(texts)``, where ``texts`` are the contents of all messages that model call received
(system prompt, earlier turns, the new prompt), oldest first. If ``respond`` raises, the
exception must come out of the framework's run::

    class TestScriptedAdapter(AdapterContract):
        @pytest.fixture
        def make_agent(self):
            def make(respond):
                return ScriptedAgent("probe", replies=[lambda ctx: respond(
                    [m.content for m in ctx.history_messages() + ctx.messages])])
            return make

Override the ``store`` fixture to run the suite against another store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from agentkernel.errors import AgentRunError
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.base import SessionStore
from agentkernel.stores.memory import InMemoryStore

__all__ = ["AdapterContract", "AgentMaker", "Respond"]

Respond = Callable[[list[str]], str]
"""Gets the texts a model call received, returns the model's answer."""

AgentMaker = Callable[[Respond], object]
"""``make_agent(respond)`` returns a framework agent driven by a scripted model."""


def remembers(texts: list[str]) -> str:
    """A scripted model that answers with every user fact it was told."""
    facts = [t for t in texts if t.startswith("Remember:")]
    return "I know: " + (" | ".join(facts) if facts else "nothing")


@pytest.mark.asyncio
class AdapterContract:
    """What every runner adapter must do. Subclass with a ``make_agent`` fixture."""

    @pytest.fixture
    def make_agent(self) -> AgentMaker:
        """Return ``make_agent(respond)``; override in the subclass."""
        raise NotImplementedError("subclass AdapterContract and provide a make_agent fixture")

    @pytest.fixture
    async def store(self) -> AsyncIterator[SessionStore]:
        """The store runs use; override to test against another backend."""
        store = InMemoryStore()
        yield store
        await store.aclose()

    def runner(self, store: SessionStore) -> Runner:
        """A runner over ``store`` that refuses busy sessions at once."""
        return Runner(store, settings=load_settings(runner={"busy": "reject"}))

    async def test_multi_turn_memory_across_runs(self, make_agent: AgentMaker, store: SessionStore) -> None:
        agent = make_agent(remembers)
        runner = self.runner(store)
        session = Session()
        first = await runner.run(agent, session, "Remember: the code is 4417")
        second = await runner.run(agent, session, "What is the code?")
        assert first.output == "I know: Remember: the code is 4417"
        assert second.output == "I know: Remember: the code is 4417"
        assert first.status == second.status == "ok"
        assert [t.prompt for t in session.turns] == ["Remember: the code is 4417", "What is the code?"]
        assert session.version == 2

    async def test_two_sessions_on_one_agent_stay_separate(self, make_agent: AgentMaker, store: SessionStore) -> None:
        agent = make_agent(remembers)
        runner = self.runner(store)
        a, b = Session(), Session()
        await asyncio.gather(
            runner.run(agent, a, "Remember: I am Ada"),
            runner.run(agent, b, "Remember: I am Bob"),
        )
        answer_a, answer_b = await asyncio.gather(runner.run(agent, a, "Who am I?"), runner.run(agent, b, "Who am I?"))
        assert answer_a.output == "I know: Remember: I am Ada"
        assert answer_b.output == "I know: Remember: I am Bob"

    async def test_memory_survives_a_reload(self, make_agent: AgentMaker, store: SessionStore) -> None:
        session = Session()
        turn = await self.runner(store).run(make_agent(remembers), session, "Remember: blue")
        stored = await Sessions(store).find(session.id)
        assert stored is not None
        assert stored.namespace(turn.framework), "the adapter kept no state in its namespace"
        # A new runner and a new agent object: everything must come from the store.
        again = await self.runner(store).run(make_agent(remembers), session.id, "Colour?")
        assert again.output == "I know: Remember: blue"

    async def test_framework_error_is_an_error_turn_and_commits_no_state(
        self, make_agent: AgentMaker, store: SessionStore
    ) -> None:
        runner = self.runner(store)
        session = Session()
        ok = await runner.run(make_agent(remembers), session, "Remember: keep me")
        before = await Sessions(store).find(session.id)
        assert before is not None
        state_before = dict(before.namespace(ok.framework))

        def explode(texts: list[str]) -> str:
            raise ValueError("the model exploded")

        with pytest.raises(AgentRunError) as caught:
            await runner.run(make_agent(explode), session, "Remember: lose me")
        turn = caught.value.turn
        assert turn.status == "error" and turn.error is not None and "exploded" in turn.error.message
        after = await Sessions(store).find(session.id)
        assert after is not None
        assert dict(after.namespace(ok.framework)) == state_before
        assert [t.status for t in after.turns] == ["ok", "error"]
        # The failed turn is shown once, as failed (agentkernel.history), from the transcript only.
        follow_up = await runner.run(make_agent(remembers), session, "Anything?")
        assert follow_up.output == "I know: Remember: keep me | Remember: lose me"

    async def test_streaming_ends_with_the_committed_turn(self, make_agent: AgentMaker, store: SessionStore) -> None:
        runner = self.runner(store)
        session = Session()
        events = [event async for event in runner.stream(make_agent(remembers), session, "Remember: streamed")]
        assert events[-1].type == "turn" and events[-1].turn is not None
        turn = events[-1].turn
        assert turn.output == "I know: Remember: streamed"
        deltas = "".join(e.text for e in events if e.type == "delta")
        assert deltas in ("", turn.output)
        assert all(e.type in ("delta", "step") for e in events[:-1])
        assert session.turn_count == 1 and (await Sessions(store).find(session.id)) is not None

    async def test_cancelled_stream_commits_nothing_and_frees_the_session(
        self, make_agent: AgentMaker, store: SessionStore
    ) -> None:
        runner = self.runner(store)
        session = Session()
        await runner.run(make_agent(remembers), session, "Remember: one")
        stream = runner.stream(make_agent(remembers), session, "Remember: two")
        async for _ in stream:
            break  # the consumer walks away after the first event
        await stream.aclose()  # type: ignore[attr-defined]
        stored = await Sessions(store).find(session.id)
        assert stored is not None and stored.turn_count == 1 and stored.version == 1
        done = await runner.run(make_agent(remembers), session, "Anything?")  # busy=reject: lease was freed
        assert done.output == "I know: Remember: one"

    async def test_turn_records_agent_framework_input_and_output(
        self, make_agent: AgentMaker, store: SessionStore
    ) -> None:
        turn = await self.runner(store).run(make_agent(remembers), Session(), "Remember: x")
        assert turn.agent and turn.framework
        assert turn.prompt == "Remember: x" and turn.index == 0
        assert turn.ended_at is not None and turn.ended_at >= turn.started_at
