"""The HTTP front end: ``POST /run`` and friends, as an ASGI app (``agentkernel[http]``).

The app is stateless: everything lives in the session store, so several uvicorn workers or
replicas behind one Redis or DynamoDB serve the same sessions. Run it with
``agentkernel serve examples/assistant.py``, or with uvicorn directly
(``AK_API__AGENTS=examples/assistant.py uvicorn --factory agentkernel.http:create_app``).

Example:
    >>> from agentkernel.testing import ScriptedAgent
    >>> from agentkernel import Runner
    >>> runner = Runner()
    >>> _ = runner.register(ScriptedAgent("assistant"))
    >>> app = create_app(runner)
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from agentkernel._optional import require

require("fastapi", extra="http", feature="the HTTP front end")

from fastapi import Depends, FastAPI, Path, Query, Request, Response  # noqa: E402
from fastapi.responses import JSONResponse, StreamingResponse  # noqa: E402

from agentkernel.adapter import RunEvent  # noqa: E402
from agentkernel.errors import AdapterNotFound, AgentKernelError, AgentRunError  # noqa: E402
from agentkernel.http._docs import install_docs  # noqa: E402
from agentkernel.http._errors import ApiError, BodyLimit, error_body, install_error_handlers  # noqa: E402
from agentkernel.http._models import (  # noqa: E402
    CURSOR_SCHEMA,
    SESSION_ID_SCHEMA,
    AgentInfo,
    AgentList,
    ErrorBody,
    Health,
    RunRequest,
    RunResponse,
    SessionDetail,
    SessionList,
    SessionSummary,
)
from agentkernel.runner import Runner  # noqa: E402
from agentkernel.session import DEFAULT_USER, validate_session_id  # noqa: E402
from agentkernel.sessions import MAX_LAST_TURNS  # noqa: E402
from agentkernel.settings import Settings, load_settings  # noqa: E402

if TYPE_CHECKING:
    from agentkernel.transcript import Turn

__all__ = ["HEALTH_PROBE_ID", "create_app"]

logger = logging.getLogger(__name__)

HEALTH_PROBE_ID = "~agentkernel-health"
"""The id ``GET /health`` reads to check that the store answers; no user can create it (``~`` is not
allowed in session ids), so the unauthenticated probe never loads anyone's state."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed JSON, bad session id or cursor",
        401: "Missing or wrong API key",
        404: "Unknown agent or session",
        409: "The session is busy with another run (see Retry-After)",
        413: "Request body over AK_API__MAX_BODY_BYTES, or the session would exceed AK_SESSION__MAX_BYTES",
        415: "The body is not sent as Content-Type: application/json",
        422: "Invalid body: unknown field, empty message, wrong type",
        502: "The agent's framework failed; the error turn is kept in the transcript",
        503: "The session store is unavailable; nothing was written",
    }.items()
}


def create_app(runner: Runner | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app.

    Args:
        runner: The runner with its agents registered. Default: one built from ``settings``
            with the agents of ``settings.api.agents`` (``AK_API__AGENTS``); the app then closes
            it on shutdown.
        settings: Settings for the API (keys, body limit) and the default runner. Default: the
            runner's settings, or the environment's.

    Raises:
        ConfigError: a setting is invalid, or the agents module cannot be loaded.
    """
    owns_runner = runner is None
    if runner is None:
        settings = settings or load_settings()
        agents = None
        if settings.api.agents:
            from agentkernel.agents_loader import load_agents

            agents = load_agents(settings.api.agents)
        runner = Runner(settings=settings, agents=agents)
    settings = settings or runner.settings
    held = runner

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_runner:
            await held.aclose()

    app = FastAPI(
        title="agentkernel",
        summary="Run agents in sessions that agentkernel keeps.",
        version=_version(),
        lifespan=lifespan,
        responses=_ERRORS,
        openapi_url=None,  # install_docs serves both, behind the API keys
        docs_url=None,
        redoc_url=None,
    )
    app.state.runner = runner
    app.state.settings = settings
    app.state.keys = {user: key.get_secret_value() for user, key in settings.api.keys.items()}
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    _routes(app)
    install_docs(app, _caller, keys_required=bool(app.state.keys))
    return app


def _version() -> str:
    from agentkernel import __version__

    return __version__


# ----------------------------------------------------------------- requests
def _runner(request: Request) -> Runner:
    runner: Runner = request.app.state.runner
    return runner


def _caller(request: Request) -> str:
    """The user the request's API key belongs to (``anonymous`` when no keys are configured)."""
    keys: dict[str, str] = request.app.state.keys
    if not keys:
        return DEFAULT_USER
    given = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if given is None and scheme.lower() == "bearer" and token.strip():
        given = token.strip()
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            {"WWW-Authenticate": "Bearer"},
        )
    found = None
    for user, key in keys.items():  # compare with every key, in constant time each
        if secrets.compare_digest(given.encode(), key.encode()):
            found = user
    if found is None:
        raise ApiError(401, "unauthorized", "the API key is not valid", {"WWW-Authenticate": "Bearer"})
    return found


RunnerDep = Annotated[Runner, Depends(_runner)]
CallerDep = Annotated[str, Depends(_caller)]
# The store checks the id (400 invalid_session_id); the schema states the same rule.
SessionIdPath = Annotated[str, Path(json_schema_extra=SESSION_ID_SCHEMA)]


def _answer(session_id: str, turn: Turn) -> RunResponse:
    return RunResponse(
        session_id=session_id,
        agent=turn.agent,
        output=turn.output,
        turn_id=turn.id,
        usage=turn.usage,
        status=turn.status,
    )


# ------------------------------------------------------------------- routes
def _routes(app: FastAPI) -> None:
    run_responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "The committed turn; or, with stream=true, server-sent events (see POST /run/stream).",
            "content": {"text/event-stream": {}},
        }
    }

    @app.post("/run", response_model=RunResponse, tags=["run"], responses=run_responses)
    async def run(body: RunRequest, runner: RunnerDep, user: CallerDep) -> Response:
        """Run one turn: the agent answers ``message`` in the session, and the turn is committed."""
        session_id = validate_session_id(body.session_id) if body.session_id else uuid.uuid4().hex
        agent = body.agent or None  # None: the runner continues with the session's last agent
        if body.stream:
            return await _stream(runner, agent, session_id, body.message, user)
        try:
            turn = await runner.run(agent, session_id, body.message, user_id=user)
        except AgentRunError as exc:
            return JSONResponse(error_body(exc, session_id=session_id), status_code=502)
        return JSONResponse(_answer(session_id, turn).model_dump(mode="json"))

    @app.post(
        "/run/stream",
        tags=["run"],
        response_class=StreamingResponse,
        responses={200: {"description": "Server-sent events: delta, step, then turn (or error).",
                         "content": {"text/event-stream": {}}}},
    )
    async def run_stream(body: RunRequest, runner: RunnerDep, user: CallerDep) -> Response:
        """Run one turn and stream it as server-sent events.

        Events: ``delta`` ``{"text"}`` pieces of the answer, ``step`` (a finished step), then
        ``turn`` (the committed turn, with the POST /run fields), or ``error`` ``{"error": ...}``
        if the run fails after the stream began. Errors before the first event get the usual
        status codes.
        """
        session_id = validate_session_id(body.session_id) if body.session_id else uuid.uuid4().hex
        return await _stream(runner, body.agent or None, session_id, body.message, user)

    @app.get("/agents", response_model=AgentList, tags=["agents"])
    async def agents(runner: RunnerDep, _: CallerDep) -> AgentList:
        """The agents this service runs."""
        listed = []
        for spec in runner.agents:
            try:
                framework: str | None = runner.resolve(spec.name)[1].name
            except AdapterNotFound:
                framework = None
            listed.append(AgentInfo(name=spec.name, description=spec.description, framework=framework))
        return AgentList(agents=listed)

    @app.get("/sessions", response_model=SessionList, tags=["sessions"])
    async def sessions(
        runner: RunnerDep,
        user: CallerDep,
        limit: Annotated[int, Query(ge=1, le=1000, description="Sessions per page.")] = 50,
        cursor: Annotated[
            str | None, Query(description="next_cursor of the previous page.", json_schema_extra=CURSOR_SCHEMA)
        ] = None,
    ) -> SessionList:
        """The caller's sessions, most recently updated first, a page at a time."""
        try:
            page = await runner.sessions.list(user_id=user, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from None
        return SessionList(sessions=[SessionSummary.of(meta) for meta in page.sessions], next_cursor=page.next_cursor)

    @app.get("/sessions/{session_id}", response_model=SessionDetail, tags=["sessions"])
    async def session(
        session_id: SessionIdPath,
        runner: RunnerDep,
        user: CallerDep,
        last: Annotated[int | None, Query(ge=0, le=MAX_LAST_TURNS, description="Only the newest N turns.")] = None,
    ) -> SessionDetail:
        """One of the caller's sessions, with its turns (all, or the newest ``last``)."""
        found = await runner.sessions.get(session_id, user_id=user, last_turns=last)
        detail: SessionDetail = SessionDetail.of(found.meta, turns=list(found.turns))
        return detail

    @app.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
    async def delete_session(session_id: SessionIdPath, runner: RunnerDep, user: CallerDep) -> Response:
        """Delete one of the caller's sessions and everything it stored."""
        await runner.sessions.delete(session_id, user_id=user)
        return Response(status_code=204)

    @app.get("/health", response_model=Health, tags=["service"])
    async def health(runner: RunnerDep) -> Health:
        """Whether the service can reach its session store (503 when it cannot).

        The one route that needs no API key, so that load balancers can probe it; it shows no data.
        """
        await runner.sessions.check_store(HEALTH_PROBE_ID)
        return Health(status="ok", store=runner.settings.session.type)

    @app.head("/health", include_in_schema=False)
    async def health_head(runner: RunnerDep) -> Response:
        await runner.sessions.check_store(HEALTH_PROBE_ID)
        return Response(status_code=200, media_type="application/json")


# ---------------------------------------------------------------- streaming
async def _stream(runner: Runner, agent: str | None, session_id: str, message: str, user: str) -> Response:
    # The run is decoupled from the connection: it goes on to its commit whatever the client does
    # (as a /run does), and the response only relays its events. See docs/http.md, "Disconnects".
    events: asyncio.Queue[RunEvent | AgentKernelError | None] = asyncio.Queue()

    async def run() -> None:
        try:
            async for event in runner.stream(agent, session_id, message, user_id=user):
                events.put_nowait(event)
        except AgentKernelError as exc:
            events.put_nowait(exc)
        except Exception:  # a bug, not the client's error: log it; the client gets a server_error event
            logger.exception("the streamed run on session %s failed", session_id)
            events.put_nowait(AgentKernelError("the run failed on the server; its log has the details"))
        finally:
            events.put_nowait(None)

    task = asyncio.create_task(run(), name=f"agentkernel-run-{session_id}")
    _RUNS.add(task)  # keep the run alive (and referenced) when the client goes away
    task.add_done_callback(_RUNS.discard)
    first = await events.get()
    if isinstance(first, AgentRunError):  # errors before the first event keep their real status code
        return JSONResponse(error_body(first, session_id=session_id), status_code=502)
    if isinstance(first, AgentKernelError):
        raise first

    async def body() -> AsyncIterator[str]:
        item: RunEvent | AgentKernelError | None = first
        while item is not None:
            if isinstance(item, AgentKernelError):
                yield _sse_data("error", error_body(item, session_id=session_id))
            else:
                yield _sse(item, session_id)
            item = await events.get()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Session-Id": session_id},
    )


_RUNS: set[asyncio.Task[None]] = set()
"""Streamed runs in flight, referenced until they finish even if their client has gone."""


def _sse(event: RunEvent, session_id: str) -> str:
    if event.type == "delta":
        return _sse_data("delta", {"text": event.text})
    if event.type == "step" and event.step is not None:
        return _sse_data("step", event.step.model_dump(mode="json"))
    if event.type == "turn" and event.turn is not None:
        answer = _answer(session_id, event.turn).model_dump(mode="json")
        return _sse_data("turn", {**answer, "turn": event.turn.model_dump(mode="json")})
    return ""


def _sse_data(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
