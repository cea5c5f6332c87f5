"""The model-based store and runner test: a Hypothesis state machine against a plain reference model.

:class:`ModelContract` drives two users, a few session ids and several :class:`Session` handles
per client (fresh ones, current ones and stale ones) through the public API only:
:meth:`Runner.run` with a :class:`ScriptedAgent` (by id and with a handle carrying pending
changes), :class:`Sessions` ``find``/``get``/``save``/``delete``/``list`` (paged), ``set``,
``delete`` and ``clear`` on handles, commits from stale handles, deletes and re-creations, TTL
expiry on a controllable clock, and runs that hold the lease while another client tries
(``busy=reject`` makes that a deterministic :class:`SessionBusy`), deletes and writes in the
middle of a run. After every step it checks that the store agrees with the model:

* no acknowledged turn is lost or doubled: each session's transcript is exactly the prompts of
  its acknowledged runs, in order (minus what a committed ``clear(transcript=True)`` removed);
* no write from an earlier life of an id, or from a handle that is out of date, is accepted;
* every user's listing, paged, is exactly the model's live sessions of that user;
* another user's session is never visible (``find`` gives ``None``, ``get`` raises
  :class:`SessionNotFound`); deletes and expiries persist.

With ``FAULTS`` on, rules inject faults between the client and the server (dropped requests,
dropped replies, delays, resets, dropped connections, server restarts). An operation that fails
with :class:`StoreUnavailable` is ambiguous: the model accepts either outcome (applied exactly
once, or not at all), finds out which by reading, and never accepts a lost or doubled turn.

Subclass it in a pytest module and implement :meth:`ModelContract.make_store`; say what the store
supports with the capability flags::

    class TestModelInMemory(ModelContract):
        CLOCK = True   # make_store honours clock=

        def make_store(self, *, ttl=0, clock=None):
            return InMemoryStore(ttl=ttl, clock=clock or time.time)

Stores need not start empty: every example uses user and session ids of its own. Without
``CLOCK`` the TTL rules are left out (a store whose expiry cannot be driven by a clock would need
real sleeps). ``EXAMPLES`` and ``STEPS`` bound a run; the test module can raise them from an
environment variable for a long exploration.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from agentkernel.errors import SessionBusy, SessionConflict, SessionNotFound, StoreUnavailable
from agentkernel.runner import Runner
from agentkernel.session import Session
from agentkernel.sessions import Sessions
from agentkernel.settings import load_settings
from agentkernel.stores.base import SessionStore
from agentkernel.testing.scripted import ScriptedAgent

__all__ = ["Fault", "ModelContract", "ModelState"]

T = TypeVar("T")

Fault = Literal["drop_request", "drop_reply", "delay", "reset"]
"""Faults :meth:`ModelContract.inject` queues for the next request (see ``FaultProxy``)."""

Op = tuple[str, str, int]
"""A change made on a handle: ``("set", key, value)``, ``("delete", key, 0)``, ``("clear", "", 0)``
or ``("clear_all", "", 0)`` (``clear(transcript=True)``)."""

USERS = ("alice", "bob")
SIDS = ("s0", "s1", "s2")
KEYS = ("a", "b", "c")
SESSION_TTL = 1_000_000.0
"""Seconds a session lives on stores with a clock: only the expiry rule ends a life."""


@dataclass
class Life:
    """One life of a session in the model: what its owner must observe."""

    number: int
    values: dict[str, int] = field(default_factory=dict)
    turns: list[str] = field(default_factory=list)

    def copy(self) -> Life:
        return Life(self.number, dict(self.values), list(self.turns))


@dataclass
class Handle:
    """A client's :class:`Session` object and what the model knows about it."""

    session: Session
    key: tuple[str, str]
    life: int | None
    """The life it was loaded from; ``None`` for a fresh ``Session(...)`` never saved."""
    seq: int
    """The model's commit sequence number of its key when loaded (or last committed)."""
    ops: list[Op] = field(default_factory=list)
    resent_seq: int | None = None
    """Set when its last save was applied although the client saw an error: saving it again
    while the key is still at that commit may be recognised as the same change (nothing new)."""


def apply_ops(life: Life, ops: list[Op]) -> Life:
    """``life`` with the handle changes ``ops`` applied in the order they were made."""
    out = life.copy()
    for kind, key, value in ops:
        if kind == "set":
            out.values[key] = value
        elif kind == "delete":
            out.values.pop(key, None)
        else:
            out.values.clear()
            if kind == "clear_all":
                out.turns.clear()
    return out


class ModelState:
    """The reference model: the live life of each (user, id), and a commit counter per key."""

    def __init__(self) -> None:
        self.live: dict[tuple[str, str], Life] = {}
        self.seq: dict[tuple[str, str], int] = {}
        self.lives = 0

    def bump(self, key: tuple[str, str]) -> int:
        self.seq[key] = self.seq.get(key, 0) + 1
        return self.seq[key]

    def put(self, key: tuple[str, str], life: Life) -> None:
        self.live[key] = life
        self.bump(key)

    def new_life(self) -> Life:
        self.lives += 1
        return Life(self.lives)

    def drop(self, key: tuple[str, str]) -> None:
        if self.live.pop(key, None) is not None:
            self.bump(key)


def observed(session: Session | None) -> tuple[dict[str, Any], list[str]] | None:
    """What the model compares of a loaded session: shared values and the prompts of its turns."""
    if session is None:
        return None
    values = {key: session.get(key) for key in session.keys()}  # noqa: SIM118 - a Session is no dict
    prompts = [turn.input[-1].content for turn in session.turns]
    return values, prompts


def expected(life: Life | None) -> tuple[dict[str, Any], list[str]] | None:
    return None if life is None else (dict(life.values), list(life.turns))


class ModelContract:
    """The model-based test every store passes. Subclass and implement :meth:`make_store`.

    Capability flags (class attributes):
        CLOCK: ``make_store`` honours ``clock=`` (adds the TTL expiry rule).
        CLOCK_AT_COMMIT: the store stamps a session's expiry with its clock when it commits
            (DynamoDB), rather than judging it from the session's ``updated_at`` (in-memory).
            The expiry rule then moves the clock by the TTL and every session expires at once.
        FAULTS: :meth:`inject`, :meth:`chaos` and :meth:`calm` work (adds the fault rules).
        RESTARTS: :meth:`stop_server` and :meth:`start_server` work (adds rules that restart
            the server, and that run while it is down).
        EXAMPLES, STEPS: Hypothesis ``max_examples`` and ``stateful_step_count``.

    Known-bug flags restrict rules where today's code fails; each names its issue item.
    """

    CLOCK: ClassVar[bool] = False
    FAULTS: ClassVar[bool] = False
    RESTARTS: ClassVar[bool] = False
    CLOCK_AT_COMMIT: ClassVar[bool] = False
    EXAMPLES: ClassVar[int] = 20
    STEPS: ClassVar[int] = 30

    def make_store(self, *, ttl: float = 0, clock: Callable[[], float] | None = None) -> SessionStore:
        """A store whose sessions expire after ``ttl`` seconds by ``clock`` (when ``CLOCK``); override."""
        raise NotImplementedError("subclass ModelContract and implement make_store")

    def inject(self, fault: Fault) -> None:
        """Inject ``fault`` into the next request to the server (when ``FAULTS``); override."""
        raise NotImplementedError

    def chaos(self, rate: float, seed: int) -> None:
        """Inject random faults into a share ``rate`` of requests from now on (when ``FAULTS``)."""
        raise NotImplementedError

    def drop_connections(self) -> None:
        """Reset every open connection to the server (when ``FAULTS``)."""
        raise NotImplementedError

    def calm(self) -> None:
        """Stop injecting faults (when ``FAULTS``)."""

    def restart_server(self) -> None:
        """Stop the server and start it again with its data (when ``RESTARTS``)."""
        self.stop_server()
        self.start_server()

    def stop_server(self) -> None:
        """Stop the server, keeping its data (when ``RESTARTS``); override."""
        raise NotImplementedError

    def start_server(self) -> None:
        """Start the stopped server again with its data (when ``RESTARTS``); override."""
        raise NotImplementedError

    def machine(self) -> type[Any]:
        """The state machine class, bound to this contract."""
        return _machine_for(self)

    def run_model(self, *, examples: int | None = None, steps: int | None = None) -> None:
        """Run the state machine with Hypothesis (``examples``/``steps`` override the class bounds)."""
        from hypothesis import HealthCheck, settings
        from hypothesis.stateful import run_state_machine_as_test

        chosen = settings(
            max_examples=examples if examples is not None else self.EXAMPLES,
            stateful_step_count=steps if steps is not None else self.STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        run_state_machine_as_test(self.machine(), settings=chosen)

    def test_model(self) -> None:
        """The store agrees with the reference model after every step."""
        self.run_model()


class _Clock:
    """A clock that moves only when told: sessions expire only when the model says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _machine_for(contract: ModelContract) -> type[Any]:
    from hypothesis import event
    from hypothesis import strategies as st
    from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

    faults = contract.FAULTS
    clocked = contract.CLOCK
    users = st.sampled_from(USERS)
    sids = st.sampled_from(SIDS)
    keys = st.sampled_from(KEYS)

    class StoreModel(RuleBasedStateMachine):
        handles = Bundle("handles")

        def __init__(self) -> None:
            super().__init__()
            self.tag = uuid.uuid4().hex[:8]
            self.loop = asyncio.new_event_loop()
            self.clock = _Clock()
            self.store = contract.make_store(ttl=SESSION_TTL, clock=self.clock) if clocked else contract.make_store()
            self.sessions = Sessions(self.store)
            if faults:  # a run whose lease release was lost frees the session in two seconds
                main = {"lease_ttl": 2.0, "busy": "wait", "busy_timeout": 5.0}
            else:
                main = {"lease_ttl": 60.0, "busy": "reject"}
            self.runner = Runner(self.store, settings=load_settings(runner=main))
            self.rival = Runner(self.store, settings=load_settings(runner={"busy": "reject"}))
            self.model = ModelState()
            self.prompts = 0
            self.values = 0
            self.agent_calls = 0

        # ------------------------------------------------------------ plumbing
        def sync(self, coro: Awaitable[T]) -> T:
            return self.loop.run_until_complete(asyncio.wait_for(coro, 60))

        def teardown(self) -> None:
            with contextlib.suppress(Exception):
                contract.calm()
            with contextlib.suppress(Exception):
                self.sync(self.store.aclose())
            self.loop.close()

        def user(self, name: str) -> str:
            return f"{name}-{self.tag}"

        def sid(self, user: str, sid: str) -> str:
            return f"{self.tag}-{sid}"  # users share ids: each has their own session of each

        def key(self, user: str, sid: str) -> tuple[str, str]:
            return (user, sid)

        def next_prompt(self) -> str:
            self.prompts += 1
            return f"p{self.prompts}"

        def next_value(self) -> int:
            self.values += 1
            return self.values

        def agent(self, during: Callable[[], Awaitable[None]] | None = None) -> ScriptedAgent:
            state = {"first": True}

            async def reply(context: Any) -> str:
                self.agent_calls += 1
                if during is not None and state["first"]:
                    state["first"] = False
                    await during()
                return f"answer to {context.prompt}"

            return ScriptedAgent("assistant", replies=[reply])

        def read(self, user: str, sid: str) -> Session | None:
            """The owner's view."""
            return self.read_as(user, user, sid)

        def read_as(self, viewer: str, owner: str, sid: str) -> Session | None:
            """What ``viewer`` finds at ``owner``'s id ``sid``, retried through the aftermath of a fault."""
            for attempt in range(20):
                try:
                    return self.sync(self.sessions.find(self.sid(owner, sid), user_id=self.user(viewer)))
                except StoreUnavailable:
                    if not faults or attempt == 19:
                        raise
                    time.sleep(0.25)
            raise AssertionError("unreachable")

        def check_key(self, user: str, sid: str) -> None:
            key = self.key(user, sid)
            got = observed(self.read(user, sid))
            want = expected(self.model.live.get(key))
            assert got == want, f"{key}: store has {got}, model expects {want}"

        def settle(self, key: tuple[str, str], applied: Life | None, what: str) -> None:
            """An operation failed ambiguously: the store shows ``applied`` or the model's state."""
            contract.calm()
            got = observed(self.read(*key))
            before = self.model.live.get(key)
            if got == expected(before):
                event(f"ambiguous {what}: not applied")
                return
            event(f"ambiguous {what}: applied")
            assert got == expected(applied), (
                f"{key}: after an ambiguous {what} the store has {got}; "
                f"acceptable: not applied {expected(before)} or applied once {expected(applied)}"
            )
            if applied is None:
                self.model.drop(key)
            else:
                self.model.put(key, applied)

        def handle_for(self, session: Session, key: tuple[str, str], life: int | None) -> Handle:
            return Handle(session, key, life, self.model.seq.get(key, 0))

        # ------------------------------------------------------------ handles
        @rule(target=handles, user=users, sid=sids)
        def load_handle(self, user: str, sid: str) -> Handle:
            key = self.key(user, sid)
            session = self.read(user, sid)
            life = self.model.live.get(key)
            assert observed(session) == expected(life), f"{key}: load disagrees with the model"
            if session is None:
                session = Session(self.sid(user, sid), user_id=self.user(user))
                return self.handle_for(session, key, None)
            assert life is not None
            return self.handle_for(session, key, life.number)

        @rule(target=handles, user=users, sid=sids)
        def fresh_handle(self, user: str, sid: str) -> Handle:
            return self.handle_for(Session(self.sid(user, sid), user_id=self.user(user)), (user, sid), None)

        @rule(handle=handles, op=st.sampled_from(["set", "set", "delete", "clear", "clear_all"]), key=keys)
        def edit(self, handle: Handle, op: str, key: str) -> None:
            if op == "set":
                value = self.next_value()
                handle.session.set(key, value)
                handle.ops.append(("set", key, value))
            elif op == "delete":
                handle.session.delete(key)
                handle.ops.append(("delete", key, 0))
            else:
                handle.session.clear(transcript=op == "clear_all")
                handle.ops.append((op, "", 0))

        def stale_life(self, handle: Handle) -> bool:
            life = self.model.live.get(handle.key)
            return handle.life is not None and (life is None or life.number != handle.life)

        def save_outcome(self, handle: Handle) -> tuple[str, Life | None]:
            """``ok`` with the life after the save, or ``refused``, or ``noop``."""
            life = self.model.live.get(handle.key)
            if handle.life is not None and not handle.session.has_changes:
                return "noop", life
            if handle.life is None:
                if life is not None:
                    return "refused", None
                return "ok", apply_ops(self.model.new_life(), handle.ops)
            if self.stale_life(handle) or handle.seq != self.model.seq.get(handle.key, 0):
                return "refused", None
            assert life is not None
            return "ok", apply_ops(life, handle.ops)

        def saved(self, handle: Handle, life: Life) -> None:
            self.model.put(handle.key, life)
            handle.life, handle.seq, handle.ops = life.number, self.model.seq[handle.key], []

        @rule(handle=handles)
        def save(self, handle: Handle) -> None:
            outcome, life = self.save_outcome(handle)
            try:
                self.sync(self.sessions.save(handle.session))
            except (SessionConflict, SessionNotFound):
                assert outcome == "refused", f"{handle.key}: a save the model accepts was refused"
                return
            resent = handle.resent_seq
            if outcome == "refused" and resent is not None and resent == self.model.seq.get(handle.key):
                current = self.model.live[handle.key]  # a resend of the applied change: nothing new
                handle.life, handle.seq, handle.ops, handle.resent_seq = current.number, resent, [], None
                return
            assert outcome != "refused", (
                f"{handle.key}: a save from a stale handle (life {handle.life}, seq {handle.seq}) was accepted"
            )
            if outcome == "ok":
                assert life is not None
                self.saved(handle, life)

        # ---------------------------------------------------------------- runs
        def run_outcome(self, key: tuple[str, str], ops: list[Op], prompt: str) -> Life:
            life = self.model.live.get(key)
            base = life if life is not None else self.model.new_life()
            after = apply_ops(base, ops)
            after.turns.append(prompt)
            return after

        @rule(user=users, sid=sids)
        def run_by_id(self, user: str, sid: str) -> None:
            key, prompt = self.key(user, sid), self.next_prompt()
            after = self.run_outcome(key, [], prompt)
            turn = self.sync(self.runner.run(self.agent(), self.sid(user, sid), prompt, user_id=self.user(user)))
            assert turn.output == f"answer to {prompt}"
            self.model.put(key, after)

        def runnable(self, handle: Handle) -> bool:
            # what a run from an earlier life's handle should do is not specified
            return not self.stale_life(handle)

        @rule(handle=handles)
        def run_with_handle(self, handle: Handle) -> None:
            if not self.runnable(handle):
                return
            prompt = self.next_prompt()
            after = self.run_outcome(handle.key, handle.ops, prompt)
            self.sync(self.runner.run(self.agent(), handle.session, prompt))
            self.saved(handle, after)

        # ------------------------------------------------------ during a run
        @rule(user=users, sid=sids, rival=users)
        def run_while_another_holds_the_lease(self, user: str, sid: str, rival: str) -> None:
            key, prompt, rival_prompt = self.key(user, sid), self.next_prompt(), self.next_prompt()
            rival_key = self.key(rival, sid)
            outcome: list[BaseException | None] = []

            async def rival_runs() -> None:
                try:
                    await self.rival.run(self.agent(), self.sid(rival, sid), rival_prompt, user_id=self.user(rival))
                except SessionBusy as exc:
                    outcome.append(exc)
                else:
                    outcome.append(None)

            after = self.run_outcome(key, [], prompt)
            self.sync(self.runner.run(self.agent(rival_runs), self.sid(user, sid), prompt, user_id=self.user(user)))
            if rival == user:
                assert isinstance(outcome[0], SessionBusy), "a second run got the lease of a session being run"
                self.model.put(key, after)
            else:  # another user's session of the same id is another session: no contention
                assert outcome[0] is None, "another user's run was blocked by a lease it has nothing to do with"
                self.model.put(rival_key, self.run_outcome(rival_key, [], rival_prompt))
                self.model.put(key, after)

        @precondition(lambda self: bool(self.model.live))
        @rule(data=st.data())
        def delete_during_run(self, data: st.DataObject) -> None:
            user, sid = data.draw(st.sampled_from(sorted(self.model.live)))
            key = self.key(user, sid)

            async def owner_deletes() -> None:
                await self.sessions.delete(self.sid(user, sid), user_id=self.user(user))

            calls = self.agent_calls
            try:
                late = self.runner.run(self.agent(owner_deletes), self.sid(user, sid), "late", user_id=self.user(user))
                self.sync(late)
            except SessionNotFound:
                pass
            else:
                raise AssertionError(f"{key}: a run on a session deleted while it ran committed (re-created it)")
            assert self.agent_calls - calls == 1, "the agent ran again after the session was deleted"
            self.model.drop(key)

        @precondition(lambda self: bool(self.model.live))
        @rule(data=st.data(), key=keys)
        def write_during_run(self, data: st.DataObject, key: str) -> None:
            user, sid = data.draw(st.sampled_from(sorted(self.model.live)))
            session_key, value, prompt = self.key(user, sid), self.next_value(), self.next_prompt()

            async def other_client_writes() -> None:
                other = await self.sessions.get(self.sid(user, sid), user_id=self.user(user))
                other.set(key, value)
                await self.sessions.save(other)

            written = apply_ops(self.model.live[session_key], [("set", key, value)])
            agent = self.agent(other_client_writes)
            self.sync(self.runner.run(agent, self.sid(user, sid), prompt, user_id=self.user(user)))
            written.turns.append(prompt)
            self.model.put(session_key, written)

        # ------------------------------------------------- deletes, expiry
        @rule(user=users, sid=sids)
        def delete(self, user: str, sid: str) -> None:
            key = self.key(user, sid)
            try:
                self.sync(self.sessions.delete(self.sid(user, sid), user_id=self.user(user)))
            except SessionNotFound:
                assert key not in self.model.live, f"{key}: delete of a live session said not found"
                return
            assert key in self.model.live, f"{key}: delete of a missing session succeeded"
            self.model.drop(key)

        @precondition(lambda self: clocked and bool(self.model.live))
        @rule(data=st.data())
        def expire(self, data: st.DataObject) -> None:
            """Move the clock so some sessions expire: those updated at or before a chosen one, or
            (``CLOCK_AT_COMMIT``) every session committed so far."""
            if contract.CLOCK_AT_COMMIT:
                self.clock.now += SESSION_TTL
                for key in list(self.model.live):
                    self.model.drop(key)
                return
            stamps = {}
            for key in self.model.live:
                session = self.read(*key)
                assert session is not None, f"{key}: live in the model, gone from the store"
                stamps[key] = session.updated_at
            cut = data.draw(st.sampled_from(sorted(set(stamps.values()))))
            self.clock.now = max(self.clock.now, cut + SESSION_TTL)
            for key, stamp in stamps.items():
                if stamp <= cut:
                    self.model.drop(key)

        # --------------------------------------------------------- reading
        @rule(user=users, limit=st.integers(1, 4))
        def list_pages(self, user: str, limit: int) -> None:
            self.check_listing(user, limit)

        def check_listing(self, user: str, limit: int) -> None:
            seen: list[str] = []
            cursor: str | None = None
            for _ in range(20):
                page = self.sync(self.sessions.list(user_id=self.user(user), limit=limit, cursor=cursor))
                assert len(page.sessions) <= limit
                assert all(meta.user_id == self.user(user) for meta in page.sessions), "a listing leaked"
                seen.extend(meta.id for meta in page.sessions)
                cursor = page.next_cursor
                if cursor is None:
                    break
            want = sorted(self.sid(u, s) for (u, s) in self.model.live if u == user)
            assert len(seen) == len(set(seen)), f"{user}: listing repeats a session: {seen}"
            assert sorted(seen) == want, f"{user}: listing {sorted(seen)}, model {want}"

        @rule(user=users, owner=users, sid=sids)
        def get_someone_elses(self, user: str, owner: str, sid: str) -> None:
            if user == owner or (owner, sid) not in self.model.live:
                return
            if (user, sid) in self.model.live:
                return  # the user's own session of that id
            with contextlib.suppress(SessionNotFound):
                self.sync(self.sessions.get(self.sid(owner, sid), user_id=self.user(user)))
                raise AssertionError(f"{user} read {owner}'s session {sid}")

        # ------------------------------------------------------------ faults
        @precondition(lambda self: faults)
        @rule(
            user=users,
            sid=sids,
            op=st.sampled_from(["run", "delete"]),
            fault=st.sampled_from(["drop_request", "drop_reply", "delay", "reset"]),
            chaos=st.booleans(),
            seed=st.integers(0, 2**16),
        )
        def faulty_op(self, user: str, sid: str, op: str, fault: Fault, chaos: bool, seed: int) -> None:
            key = self.key(user, sid)
            if chaos:
                contract.chaos(0.3, seed)
            else:
                contract.inject(fault)
            if op == "run":
                prompt = self.next_prompt()
                applied: Life | None = self.run_outcome(key, [], prompt)
                call: Awaitable[Any] = self.runner.run(
                    self.agent(), self.sid(user, sid), prompt, user_id=self.user(user)
                )
            else:
                applied = None
                call = self.sessions.delete(self.sid(user, sid), user_id=self.user(user))
            try:
                self.sync(call)
            except StoreUnavailable:
                self.settle(key, applied, op)
                return
            except SessionNotFound:
                contract.calm()
                assert op == "delete", f"{key}: {op} said not found"
                if key in self.model.live and (fault == "drop_reply" or chaos):
                    # A delete whose reply was lost and which the client sent again: the first send
                    # deleted the session, the second finds nothing. The session must be gone.
                    got = observed(self.read(*key))
                    assert got == expected(None), f"{key}: a delete said not found, yet the store has {got}"
                    self.model.drop(key)
                    return
                assert key not in self.model.live, f"{key}: delete of a live session said not found"
                return
            contract.calm()
            if op == "delete":
                assert key in self.model.live, f"{key}: delete of a missing session succeeded"
                self.model.drop(key)
            else:
                assert applied is not None
                self.model.put(key, applied)

        @precondition(lambda self: faults)
        @rule(handle=handles, fault=st.sampled_from(["drop_request", "drop_reply", "reset"]))
        def faulty_save(self, handle: Handle, fault: Fault) -> None:
            if self.stale_life(handle) or not handle.session.has_changes:
                return
            outcome, life = self.save_outcome(handle)
            if outcome != "ok":
                return  # refused saves are covered without faults
            contract.inject(fault)
            assert life is not None
            try:
                self.sync(self.sessions.save(handle.session))
            except StoreUnavailable:
                self.settle(handle.key, life, "save")
                if self.model.live.get(handle.key) is life:  # applied, but the handle never heard
                    handle.resent_seq = self.model.seq[handle.key]
                return
            except (SessionConflict, SessionNotFound):
                contract.calm()
                assert outcome == "refused", f"{handle.key}: a save the model accepts was refused"
                return
            contract.calm()
            self.saved(handle, life)

        @precondition(lambda self: faults)
        @rule()
        def drop_connections(self) -> None:
            contract.drop_connections()

        @precondition(lambda self: contract.RESTARTS)
        @rule()
        def restart_server(self) -> None:
            contract.restart_server()

        @precondition(lambda self: contract.RESTARTS)
        @rule(user=users, sid=sids)
        def run_while_the_server_is_down(self, user: str, sid: str) -> None:
            """A run against a stopped server fails with StoreUnavailable and writes nothing."""
            contract.stop_server()
            try:
                with contextlib.suppress(StoreUnavailable):
                    prompt = self.next_prompt()
                    self.sync(self.runner.run(self.agent(), self.sid(user, sid), prompt, user_id=self.user(user)))
                    raise AssertionError(f"{(user, sid)}: a run succeeded with the server stopped")
            finally:
                contract.start_server()
            self.check_key(user, sid)

        # ---------------------------------------------------------- invariant
        @invariant()
        def store_agrees_with_model(self) -> None:
            if not hasattr(self, "model"):
                return
            for user in USERS:
                for sid in SIDS:
                    self.check_key(user, sid)
                    for other in USERS:  # what another user sees of this id
                        if other == user or (other, sid) in self.model.live:
                            continue
                        seen = self.read_as(other, user, sid)
                        assert seen is None, f"{other} sees {user}'s session {sid}"
                self.check_listing(user, 50)

    StoreModel.__name__ = f"StoreModel_{type(contract).__name__}"
    return StoreModel
