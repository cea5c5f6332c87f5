"""``agentkernel serve``: check the bind address against the auth settings, then run uvicorn.

Workers are separate processes that build the app with :func:`agentkernel.http.create_app`; the
agents' module reaches them as ``AK_API__AGENTS`` in their environment.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable

from agentkernel._optional import require
from agentkernel.errors import ConfigError
from agentkernel.settings import Settings

__all__ = ["check_bind", "check_workers", "is_loopback", "serve_app"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings) -> str | None:
    """Refuse a public address without API keys; return a notice for the start-up message.

    Raises:
        ConfigError: ``host`` is not loopback, no API keys are configured, and
            ``AK_API__ALLOW_PUBLIC_WITHOUT_KEYS`` is not set.
    """
    if settings.api.keys:
        return None
    if is_loopback(host):
        return (
            "no API keys configured (AK_API__KEYS): serving on loopback only; "
            "every caller is the user 'anonymous'"
        )
    if not settings.api.allow_public_without_keys:
        raise ConfigError(
            f"refusing to serve on {host} without API keys: set AK_API__KEYS='{{\"alice\": \"<key>\"}}', "
            "bind 127.0.0.1, or set AK_API__ALLOW_PUBLIC_WITHOUT_KEYS=true to serve without auth"
        )
    return f"WARNING: serving on {host} with no API keys (AK_API__ALLOW_PUBLIC_WITHOUT_KEYS=true): anyone can call it"


def check_workers(workers: int, settings: Settings) -> None:
    """Refuse several workers on a store that lives inside one process.

    Raises:
        ConfigError: ``workers`` > 1 with ``AK_SESSION__TYPE=in_memory``.
    """
    if workers > 1 and settings.session.type == "in_memory":
        raise ConfigError(
            f"refusing --workers {workers} with AK_SESSION__TYPE=in_memory: each worker process has its own "
            "memory, so a session started on one worker is unknown to the others and follow-ups lose their "
            "context; set AK_SESSION__TYPE=redis (or dynamodb) to share sessions, or use --workers 1"
        )


def serve_app(
    source: str,
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    say: Callable[[str], None],
) -> None:
    """Serve the agents of ``source`` with uvicorn until interrupted.

    Raises:
        ConfigError: the bind address is refused, several workers are asked for on the in-memory
            store, or the agents cannot be loaded.
        MissingDependency: the ``http`` extra is not installed.
    """
    check_workers(workers, settings)
    notice = check_bind(host, settings)
    uvicorn = require("uvicorn", extra="http", feature="agentkernel serve")
    require("fastapi", extra="http", feature="agentkernel serve")
    from agentkernel.http import create_app

    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"agents": source})})
    app = create_app(settings=settings)  # built here even for workers, so errors show here, clearly
    names = app.state.runner.agents.names()
    if notice:
        say(notice)
    say(f"serving agents {', '.join(names)} from {source} on http://{host}:{port} "
        f"({workers} worker{'s' if workers != 1 else ''}, store {settings.session.type}); API docs at /docs")
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    os.environ["AK_API__AGENTS"] = source  # each worker's create_app reads it through the settings
    uvicorn.run("agentkernel.http:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level)
