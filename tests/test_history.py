"""The one rule for earlier turns (agentkernel.history): examples and properties."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentkernel.history import adopt_cursor, cursor_key, history_messages, turn_messages, unseen_turns
from agentkernel.session import Session
from agentkernel.transcript import Message, Step, Turn, TurnError

text = st.text(alphabet="abc xyz", min_size=1, max_size=8)
json_value = st.none() | st.integers() | text | st.dictionaries(text, st.integers(), max_size=2)
steps = st.lists(
    st.one_of(
        st.builds(Step, kind=st.just("tool_call"), name=text, arguments=json_value, result=json_value,
                  error=st.none() | text),
        st.builds(Step, kind=st.just("handoff"), name=text, agent=st.none() | text),
        st.builds(Step, kind=st.sampled_from(["model_call", "task", "interrupt", "custom"]), result=text),
    ),
    max_size=5,
)
inputs = st.lists(
    st.builds(Message, role=st.sampled_from(["user", "assistant", "system", "tool"]), content=text), max_size=3
)


@st.composite
def turns(draw: st.DrawFn) -> list[Turn]:
    out = []
    for index in range(draw(st.integers(0, 6))):
        status = draw(st.sampled_from(["ok", "error", "interrupted"]))
        out.append(
            Turn(
                id=f"t{index}",
                index=index,
                agent=draw(st.sampled_from(["a", "b"])),
                framework=draw(st.sampled_from(["langgraph", "openai_agents", "crewai"])),
                input=draw(inputs),
                output=None if status == "error" else draw(st.none() | text),
                steps=draw(steps),
                status=status,
                error=TurnError(type="RuntimeError", message="boom") if status == "error" else None,
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(turns())
def test_every_tool_call_is_followed_at_once_by_its_result(history: list[Turn]) -> None:
    messages = history_messages(history)
    for position, message in enumerate(messages):
        if message.tool_calls:
            results = messages[position + 1 : position + 1 + len(message.tool_calls)]
            assert [r.tool_call_id for r in results] == [c.id for c in message.tool_calls]
            assert all(r.role == "tool" for r in results)
        if message.role == "tool":
            assert message.tool_call_id is not None, "a tool message that answers no call"
            before = messages[position - 1]
            assert before.tool_calls and message.tool_call_id in [c.id for c in before.tool_calls]


@settings(max_examples=200, deadline=None)
@given(turns())
def test_turns_keep_their_order_and_bring_nothing_from_elsewhere(history: list[Turn]) -> None:
    messages = history_messages(history)
    assert messages == [m for turn in history for m in turn_messages(turn)]
    assert all(m.role != "system" for m in messages)
    ids = {f"ak_{turn.id}_" for turn in history}
    for message in messages:
        for call in message.tool_calls or []:
            assert any(call.id.startswith(prefix) for prefix in ids)
    for turn in history:
        own = turn_messages(turn)
        tool_steps = [s for s in turn.steps if s.kind == "tool_call"]
        assert [c.name for m in own for c in m.tool_calls or []] == [s.name for s in tool_steps]
        assert [m.content for m in own if m.role in ("user",)] == [
            m.content for m in turn.input if m.role in ("user", "tool")
        ]
        last = own[-1] if own else None
        if turn.status == "error":
            assert last is not None and last.content == "[this turn failed (RuntimeError); no answer was given]"
        elif turn.output:
            assert last is not None and (last.role, last.content, last.name) == ("assistant", turn.output, turn.agent)


def test_a_mixed_turn_in_full() -> None:
    turn = Turn(
        id="t1",
        agent="desk",
        framework="langgraph",
        input=[Message(role="system", content="Be brief."), Message(role="user", content="Where is 42?")],
        steps=[
            Step(kind="model_call", name="m", result=""),
            Step(kind="tool_call", name="track", arguments={"order": 42}, result={"status": "shipped"}),
            Step(kind="tool_call", name="eta", arguments={"order": 42}, error="timeout"),
            Step(kind="handoff", agent="desk", name="billing"),
        ],
        output="It shipped.",
    )
    shown = [(m.role, m.content, m.tool_call_id, [c.name for c in m.tool_calls or []]) for m in turn_messages(turn)]
    assert shown == [
        ("user", "Where is 42?", None, []),
        ("assistant", "", None, ["track"]),
        ("tool", '{"status": "shipped"}', "ak_t1_0", []),
        ("assistant", "", None, ["eta"]),
        ("tool", "error: timeout", "ak_t1_1", []),
        ("assistant", "[desk handed off to billing]", None, []),
        ("assistant", "It shipped.", None, []),
    ]


def test_an_error_turn_shows_its_question_and_that_it_failed() -> None:
    turn = Turn(agent="a", framework="crewai", input=[Message(role="user", content="Refund?")], status="error",
                error=TurnError(type="TimeoutError", message="secret internals"))
    assert [(m.role, m.content) for m in turn_messages(turn)] == [
        ("user", "Refund?"),
        ("assistant", "[this turn failed (TimeoutError); no answer was given]"),
    ]


def test_an_interrupted_turn_shows_what_it_asked() -> None:
    turn = Turn(agent="a", framework="langgraph", input=[Message(role="user", content="Refund 30?")],
                status="interrupted", output="Approve 30 dollars?", steps=[Step(kind="interrupt", result="x")])
    assert [(m.role, m.content) for m in turn_messages(turn)] == [
        ("user", "Refund 30?"), ("assistant", "Approve 30 dollars?")
    ]


def _turn(index: int, agent: str, framework: str = "langgraph", failed: bool = False) -> Turn:
    return Turn(index=index, agent=agent, framework=framework, input=[Message(role="user", content=str(index))],
                status="error" if failed else "ok")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["me", "other"]), st.sampled_from(["langgraph", "crewai"]), st.booleans()),
                max_size=8),
       st.integers(0, 8))
def test_the_cursor_feeds_each_turn_once(owners: list[tuple[str, str, bool]], split: int) -> None:
    history = [_turn(i, *owner) for i, owner in enumerate(owners)]
    state: dict[str, Any] = {}
    cut = min(split, len(history))
    first = unseen_turns(state, history[:cut], agent="me", framework="langgraph", next_index=cut)
    assert state[cursor_key("me")] == cut
    second = unseen_turns(state, history, agent="me", framework="langgraph", next_index=len(history))
    fed = [t.index for t in first + second]
    assert fed == [t.index for t in history if (t.agent, t.framework) != ("me", "langgraph") or t.status == "error"]


def test_the_cursor_key_is_one_documented_key_per_agent() -> None:
    assert cursor_key("a/b c") == "a%2Fb%20c/history_next"


def test_old_cursors_are_adopted_as_the_next_unseen_index() -> None:
    state: dict[str, Any] = {"me/seen": 3, "me/turns_seen": 9}
    adopt_cursor(state, "me", "me/seen", offset=1)
    assert state == {"me/history_next": 4, "me/turns_seen": 9}
    adopt_cursor(state, "me", "me/turns_seen", offset=0)
    assert state == {"me/history_next": 4}


async def test_run_context_history_messages_is_the_rule() -> None:
    from agentkernel.adapter import RunContext

    session = Session()
    session.append_turn(Turn(agent="x", framework="crewai", input=[Message(role="user", content="q")],
                             status="error", error=TurnError(type="E", message="m")))
    context = RunContext(session=session, agent_name="me", messages=[], state=session.namespace("langgraph"),
                         history=session.turns)
    assert context.history_messages() == history_messages(session.turns)
    assert [m.content for m in context.unseen_history_messages("langgraph")] == [
        "q", "[this turn failed (E); no answer was given]"
    ]
    assert context.unseen_history_messages("langgraph") == []


def test_plain_messages_encode_as_before_and_tool_fields_round_trip() -> None:
    from agentkernel.transcript import ToolCall

    assert Message(role="user", content="hi").model_dump(mode="json") == {"role": "user", "content": "hi", "name": None}
    call = Message(role="assistant", content="", tool_calls=[ToolCall(id="c1", name="t", arguments={"q": 1})])
    result = Message(role="tool", content="42", name="t", tool_call_id="c1")
    for message in (call, result):
        assert Message.model_validate(message.model_dump(mode="json")) == message
    assert Turn.model_validate(Turn(agent="a", framework="f", input=[call, result]).model_dump(mode="json")).input == [
        call, result
    ]


async def test_turns_the_agent_has_seen_are_not_decoded() -> None:
    from agentkernel import InMemoryStore
    from agentkernel._records import Raw, mark_committed, pending_change
    from agentkernel.sessions import Sessions

    store = InMemoryStore()
    session = Session("s")
    for i in range(30):
        session.append_turn(Turn(agent="other", framework="crewai", input=[Message(role="user", content=f"q{i}")]))
    change = pending_change(session)
    await store.commit(change)
    mark_committed(session, change)
    loaded = await Sessions(store).find("s")
    assert loaded is not None
    state: dict[str, Any] = {cursor_key("me"): 27}
    unseen = unseen_turns(state, loaded.recent_turns(), agent="me", framework="openai_agents", next_index=31)
    assert [t.index for t in unseen] == [27, 28, 29]
    assert state[cursor_key("me")] == 31
    decoded = [i for i, turn in enumerate(loaded._turns) if not isinstance(turn, Raw)]
    assert decoded == [26, 27, 28, 29]  # the newest seen one tells where to stop
