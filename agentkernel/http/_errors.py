"""Every HTTP error as one JSON shape, ``{"error": {"code", "message"}}``, with a real status code.

agentkernel's errors map to statuses here; request validation, unknown routes and oversized
bodies get the same shape. Nothing is ever answered as a 200 carrying error text.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkernel.errors import (
    AgentKernelError,
    AgentNotFound,
    AgentRunError,
    CorruptSession,
    InvalidSessionId,
    InvalidValue,
    LeaseLost,
    SessionBusy,
    SessionConflict,
    SessionNotFound,
    SessionTooLarge,
    StoreUnavailable,
)
from agentkernel.http._models import ErrorBody, ErrorDetail

__all__ = [
    "ApiError",
    "BodyLimit",
    "error_body",
    "error_response",
    "install_error_handlers",
    "retry_after",
    "status_of",
]

logger = logging.getLogger(__name__)

# First match wins, so subclasses come before their bases.
_STATUSES: tuple[tuple[type[AgentKernelError], int, str], ...] = (
    (InvalidSessionId, 400, "invalid_session_id"),
    (AgentNotFound, 404, "agent_not_found"),
    (SessionNotFound, 404, "session_not_found"),
    (SessionBusy, 409, "session_busy"),
    (SessionConflict, 409, "session_conflict"),
    (SessionTooLarge, 413, "session_too_large"),
    (InvalidValue, 422, "invalid_value"),
    (LeaseLost, 503, "lease_lost"),
    (AgentRunError, 502, "agent_failed"),
    (StoreUnavailable, 503, "store_unavailable"),
    (CorruptSession, 500, "corrupt_session"),
    (AgentKernelError, 500, "server_error"),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}

_JSON_ADVICE = (
    "send the body as JSON with `Content-Type: application/json` "
    "(with curl: -H 'Content-Type: application/json' -d '{\"message\": \"Hello\"}', or --json '{...}')"
)


class ApiError(Exception):
    """An error the API answers with ``status`` and ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def status_of(exc: AgentKernelError) -> tuple[int, str]:
    """The HTTP status and error code an agentkernel error is answered with."""
    for kind, status, code in _STATUSES:
        if isinstance(exc, kind):
            return status, code
    return 500, "server_error"  # unreachable: AgentKernelError is the last row


def error_body(exc: AgentKernelError, *, session_id: str | None = None) -> dict[str, Any]:
    """The JSON error body for an agentkernel error (also sent as an SSE ``error`` event).

    Args:
        exc: The error.
        session_id: The run's session, reported with ``agent_failed`` next to the error turn's id.
    """
    _, code = status_of(exc)
    detail = ErrorDetail(code=code, message=str(exc))
    if isinstance(exc, AgentRunError):
        detail.turn_id = exc.turn.id
        detail.session_id = session_id
    return ErrorBody(error=detail).model_dump(exclude_none=True)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response of the one shape."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message)).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def retry_after(exc: AgentKernelError) -> dict[str, str]:
    if isinstance(exc, SessionBusy):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if isinstance(exc, SessionConflict):
        return {"Retry-After": "1"}
    return {}


async def _kernel_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(AgentKernelError, exc)
    status, code = status_of(exc)
    if status >= 500:
        logger.warning("%s: %s", code, exc)
    return JSONResponse(error_body(exc), status_code=status, headers=retry_after(exc))


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(ApiError, exc)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (no type at all is read as JSON too)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    content_type = request.headers.get("content-type")
    if request.method in {"POST", "PUT", "PATCH"} and not _is_json(content_type):
        # e.g. curl -d sends application/x-www-form-urlencoded: the body was never read as JSON
        return error_response(415, "unsupported_media_type", f"the body was sent as {content_type!r}; {_JSON_ADVICE}")
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    if all(error.get("loc", ("",))[0] in {"query", "path"} for error in errors):
        # a bad URL parameter (?last=10**20, ?limit=0) is the caller's error, named, never a store's
        return error_response(400, "invalid_parameter", "; ".join(parts))
    return error_response(422, "invalid_request", "; ".join(parts))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)
    if isinstance(exc.__cause__, ApiError):  # FastAPI wraps errors raised while it reads the body
        return await _api_error(request, exc.__cause__)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = _allowed_methods(request.app.router.routes, request.scope)
        headers["Allow"] = ", ".join(allowed)
        return error_response(405, code, f"{request.method} is not allowed here; allowed: {headers['Allow']}", headers)
    return error_response(exc.status_code, code, str(exc.detail), headers)


def _allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route of this path takes (Starlette's own 405 names only the first route's)."""
    allowed: set[str] = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        if methods and route.matches(scope)[0] in (Match.PARTIAL, Match.FULL):
            allowed.update(methods)
    return sorted(allowed)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error while serving a request", exc_info=exc)
    return error_response(500, "server_error", "the server failed unexpectedly; its log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the one JSON shape."""
    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
        AgentKernelError: _kernel_error,
        ApiError: _api_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
        Exception: _unexpected,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                response = error_response(413, "body_too_large", self._message())
                await response(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, "body_too_large", self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes (AK_API__MAX_BODY_BYTES)"
