"""The Runner: runs one agent for one prompt in one session, and commits the turn.

In order: take the session's run lease, load the session, hand it to the agent's adapter, commit
the new turn and the namespace changes as one version-checked write, release the lease. If the
framework raises, an error turn is committed instead (without the run's state changes) and the
caller gets :class:`~agentkernel.errors.AgentRunError` carrying that turn.

Example:
    >>> from agentkernel.testing import ScriptedAgent
    >>> runner = Runner()
    >>> turn = runner.run_sync(ScriptedAgent("echo", replies=["hello"]), "demo-session", "hi")
    >>> turn.output
    'hello'
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from typing import Any, TypeVar, cast

from agentkernel._loop import LoopThread
from agentkernel._records import absorb_pending, adopt, fork, set_system
from agentkernel.adapter import Adapter, AdapterResult, RunContext, RunEvent, StreamingAdapter, final_event
from agentkernel.codec import check_text
from agentkernel.errors import (
    AgentNotFound,
    AgentRunError,
    CorruptSession,
    LeaseLost,
    SessionConflict,
    SessionNotFound,
    StoreUnavailable,
)
from agentkernel.leases import hold_lease
from agentkernel.registry import AdapterSet, AgentRegistry, AgentSpec
from agentkernel.session import DEFAULT_USER, SYSTEM_NAMESPACE, Session, validate_session_id, validate_user_id
from agentkernel.sessions import Sessions
from agentkernel.settings import Settings, load_settings
from agentkernel.stores import open_store
from agentkernel.stores.base import SessionStore
from agentkernel.transcript import Message, Turn, TurnError

__all__ = ["Prompt", "Runner", "to_messages"]

logger = logging.getLogger(__name__)

Prompt = str | Sequence[Message | Mapping[str, Any]]
T = TypeVar("T")


def to_messages(prompt: Prompt) -> list[Message]:
    """Turn a plain string or a list of messages (objects or dicts) into messages.

    Raises:
        ValueError: the prompt is empty or a message is malformed.
        InvalidValue: a message holds text that is not valid Unicode (an unpaired surrogate).
    """
    if isinstance(prompt, str):
        if not prompt.strip():
            raise ValueError("the prompt is empty; pass the text to send to the agent")
        return [Message(role="user", content=check_text(prompt, what="the prompt"))]
    messages = [m if isinstance(m, Message) else Message.model_validate(m) for m in prompt]
    if not messages:
        raise ValueError("the prompt is an empty list of messages; pass at least one message")
    for i, message in enumerate(messages):
        check_text(message.content, what=f"message {i} of the prompt")
        if message.name is not None:
            check_text(message.name, what=f"the name of message {i} of the prompt")
    return messages


class Runner:
    """Runs agents in sessions.

    Args:
        store: Where sessions live; by default the one ``AK_SESSION__TYPE`` selects.
        settings: Settings to use instead of reading the environment.
        agents: A registry of named agents (a new, empty one by default).
        adapters: The adapters to choose from (by default every installed one).

    The runner owns a store it opened itself and closes it in :meth:`aclose`; a store passed in
    stays the caller's to close.
    """

    def __init__(
        self,
        store: SessionStore | None = None,
        *,
        settings: Settings | None = None,
        agents: AgentRegistry | None = None,
        adapters: AdapterSet | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self._owns_store = store is None
        self.store = store if store is not None else open_store(self.settings.session)
        self.sessions = Sessions(self.store, max_bytes=self.settings.session.max_bytes)
        self.agents = agents if agents is not None else AgentRegistry()
        self.adapters = adapters if adapters is not None else AdapterSet()
        self._loop: LoopThread | None = None
        self._loop_lock = threading.Lock()

    # ------------------------------------------------------------------ agents
    def register(self, agent: object, *, name: str | None = None, **options: Any) -> AgentSpec:
        """Register an agent by name; see :meth:`AgentRegistry.register`."""
        return self.agents.register(agent, name=name, **options)

    def resolve(self, agent: object | str) -> tuple[AgentSpec, Adapter]:
        """The registration and adapter for an agent object or a registered name.

        Raises:
            AgentNotFound: ``agent`` is a name nobody registered.
            AdapterNotFound: no installed adapter recognises the object.
        """
        if isinstance(agent, str):
            spec = self.agents.get(agent)
        else:
            found = self.agents.find(agent)
            spec = found if found is not None else AgentSpec(name="", agent=agent)
        adapter = self.adapters.get(spec.adapter) if spec.adapter else self.adapters.for_agent(spec.agent)
        if not spec.name:
            spec = AgentSpec(name=adapter.agent_name(spec.agent), agent=spec.agent)
        return spec, adapter

    def _default_agent(self, session: Session) -> str:
        """The session's last agent if it is still registered, else the first one registered."""
        last = session.namespace(SYSTEM_NAMESPACE).get("last_agent")
        names = self.agents.names()
        return last if isinstance(last, str) and last in names else names[0]

    # --------------------------------------------------------------------- run
    async def run(
        self,
        agent: object | str | None,
        session: Session | str | None = None,
        prompt: Prompt = "",
        *,
        user_id: str | None = None,
    ) -> Turn:
        """Run ``agent`` once on ``prompt`` in ``session`` and commit the turn.

        Args:
            agent: A framework agent object, the name of a registered agent, or ``None`` to
                continue with the session's last agent (if it is still registered), else the
                first one registered. That choice is made under the session's lease, from the
                same read the run uses; the turn's ``agent`` says which agent ran.
            session: A :class:`Session` (refreshed in place after the commit, and whatever was
                set on it beforehand is committed with the turn), a session id (made if it does
                not exist), or ``None`` for a new session.
            prompt: A string, or a list of messages.
            user_id: The owner, when ``session`` is an id (default ``anonymous``).

        Returns:
            The committed turn.

        Raises:
            AgentNotFound: ``agent`` is a name nobody registered, or ``None`` and no agent is
                registered.
            AgentRunError: the framework raised; the error turn was committed.
            SessionBusy: another run held the session past the wait bound (or at once, with
                ``AK_RUNNER__BUSY=reject``).
            SessionConflict: the session changed under the run and the policy is ``reject``,
                or every attempt conflicted.
            SessionNotFound: the session was deleted while the run was in flight, or ``session``
                is a loaded object whose session was deleted (or expired) since.
            StoreUnavailable: the store failed; nothing was written.
        """
        final = await final_event(self._run(agent, session, prompt, user_id=user_id, streaming=False), "turn")
        return cast(Turn, final.turn)  # final_event returns only an event that carries its turn

    def stream(
        self,
        agent: object | str | None,
        session: Session | str | None = None,
        prompt: Prompt = "",
        *,
        user_id: str | None = None,
    ) -> AsyncIterator[RunEvent]:
        """Like :meth:`run`, but yield events as they come; the last one is the committed ``turn``.

        The turn is committed when the adapter's stream ends, and not at all if the stream fails
        or the consumer stops early (the error turn is committed if the framework raised).
        """
        return self._run(agent, session, prompt, user_id=user_id, streaming=True)

    async def _run(
        self,
        agent: object | str | None,
        session: Session | str | None,
        prompt: Prompt,
        *,
        user_id: str | None,
        streaming: bool,
    ) -> AsyncIterator[RunEvent]:
        chosen = self.resolve(agent) if agent is not None else None
        if chosen is None and not len(self.agents):
            raise AgentNotFound("", [], "no agent given and none registered; register one with runner.register(agent)")
        messages = to_messages(prompt)
        caller = session if isinstance(session, Session) else None
        if caller is not None:
            session_id, owner = caller.id, caller.user_id
        else:
            session_id = uuid.uuid4().hex if session is None else validate_session_id(session)
            owner = validate_user_id(user_id or DEFAULT_USER)
        policy = self.settings.runner
        wait = policy.busy_timeout if policy.busy == "wait" else 0.0
        async with hold_lease(self.store, owner, session_id, ttl=policy.lease_ttl, wait=wait) as lease:
            existed = False
            for attempt in range(1, policy.max_attempts + 1):
                lease.check()
                base = await self.sessions.open(session_id, user_id=owner, last_turns=policy.history_turns)
                if existed and base.version == 0:  # deleted while this run was in flight: it stays deleted
                    raise SessionNotFound(session_id)
                if caller is not None and caller.version and caller.meta.life != base.meta.life:
                    raise SessionNotFound(session_id)  # the caller's object is of an earlier life of this id
                existed = base.version > 0
                if caller is not None:
                    absorb_pending(base, caller)
                spec, adapter = chosen if chosen is not None else self.resolve(self._default_agent(base))
                work = fork(base)
                context = RunContext(
                    session=work,
                    agent_name=spec.name,
                    messages=messages,
                    state=work.namespace(adapter.name),
                    history=_visible(base.recent_turns(), spec),
                    options=dict(spec.options),
                )
                started = time.time()
                outcome: AdapterResult | BaseException
                try:
                    if streaming and isinstance(adapter, StreamingAdapter):
                        outcome = _missing_result(spec)
                        stream = adapter.stream(spec.agent, context)
                        try:
                            while True:
                                with lease.guard():  # losing the lease cancels the framework, not the consumer
                                    try:
                                        event = await anext(stream)
                                    except StopAsyncIteration:
                                        break
                                if event.type == "result" and event.result is not None:
                                    outcome = event.result
                                else:
                                    yield dataclasses.replace(event, agent=spec.name)
                        finally:
                            closer = getattr(stream, "aclose", None)
                            if closer is not None:
                                await closer()
                    else:
                        with lease.guard():
                            outcome = await adapter.run(spec.agent, context)
                except (CorruptSession, StoreUnavailable, LeaseLost):
                    raise  # the session, its store or its lease failed, not the framework: no error turn
                except Exception as exc:  # the framework failed: record it, commit nothing of the run
                    outcome = exc
                lease.check()  # a run that lost its lease commits nothing
                target = work if isinstance(outcome, AdapterResult) else base
                turn = target.append_turn(_make_turn(spec, adapter, messages, started, outcome))
                set_system(target, "last_agent", spec.name)
                try:
                    await _finish(self.sessions.save(target))
                except SessionConflict:
                    if policy.conflict == "reject" or attempt == policy.max_attempts:
                        raise
                    logger.info("session %s changed during a run; running again (attempt %d)", session_id, attempt + 1)
                    continue
                if caller is not None:
                    adopt(caller, target)
                if isinstance(outcome, BaseException):
                    raise AgentRunError(
                        f"agent {spec.name!r} ({adapter.name}) failed: {type(outcome).__name__}: {outcome}; "
                        f"the error turn {turn.id} was recorded in session {session_id!r}",
                        turn,
                    ) from outcome
                yield RunEvent(type="turn", turn=turn, agent=spec.name)
                return

    # ------------------------------------------------------------------- sync
    def run_sync(
        self,
        agent: object | str | None,
        session: Session | str | None = None,
        prompt: Prompt = "",
        *,
        user_id: str | None = None,
    ) -> Turn:
        """:meth:`run` for synchronous code. Safe to call from several threads at once.

        Raises:
            RuntimeError: called from inside a running event loop (use ``await runner.run``).
        """
        return self._sync(self.run(agent, session, prompt, user_id=user_id))

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError("run_sync was called inside a running event loop; use `await runner.run(...)` there")
        with self._loop_lock:
            if self._loop is None:
                self._loop = LoopThread(name="agentkernel-sync")
        return self._loop.run(coro)

    # -------------------------------------------------------------- lifecycle
    async def aclose(self) -> None:
        """Close the store if this runner opened it."""
        if self._owns_store:
            await self.store.aclose()

    def close(self) -> None:
        """Synchronous :meth:`aclose`, also stopping the loop ``run_sync`` uses."""
        if self._loop is not None:
            self._loop.run(self.aclose())
            self._loop.stop()
            self._loop = None
        else:
            asyncio.run(self.aclose())

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _finish(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end even if the caller is cancelled meanwhile, then pass the cancellation on.

    A commit that has begun is never abandoned half-way: a run cancelled during its commit ends
    with the turn committed (or refused, as any commit may be), and then raises ``CancelledError``;
    one cancelled before the commit began commits nothing. Load the session to learn which.
    """
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])  # a cancellation of ours interrupts the wait, never the task
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        task.exception()  # retrieved: the cancellation is the run's outcome now
        raise asyncio.CancelledError
    return task.result()


def _visible(turns: Sequence[Turn], spec: AgentSpec) -> Sequence[Turn]:
    if spec.history == "own":
        return [turn for turn in turns if turn.agent == spec.name]
    return turns


def _missing_result(spec: AgentSpec) -> BaseException:
    return RuntimeError(f"the adapter's stream for agent {spec.name!r} ended without a result event")


def _make_turn(
    spec: AgentSpec,
    adapter: Adapter,
    messages: list[Message],
    started: float,
    outcome: AdapterResult | BaseException,
) -> Turn:
    common: dict[str, Any] = {
        "agent": spec.name,
        "framework": adapter.name,
        "input": messages,
        "started_at": started,
        "ended_at": time.time(),
    }
    if isinstance(outcome, BaseException):
        error = TurnError(type=type(outcome).__name__, message=str(outcome))
        return Turn(**common, status="error", error=error)
    return Turn(
        **common,
        output=outcome.output,
        steps=outcome.steps,
        usage=outcome.usage,
        status=outcome.status,
        metadata=outcome.metadata,
    )
