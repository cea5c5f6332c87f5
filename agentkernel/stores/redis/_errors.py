"""How the Redis store reports redis-py's errors: ``StoreUnavailable`` or ``CorruptSession``, never "absent".

A failed or timed-out call is a store error and says what to check. A key holding the wrong
type (someone wrote it by hand) is a corrupt record of that one session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from agentkernel.errors import CorruptSession, StoreUnavailable

__all__ = ["redact_url", "translate_errors"]


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@contextlib.contextmanager
def translate_errors(
    where: str, action: str, session_id: str | None = None, *, ambiguous: bool = False
) -> Iterator[None]:
    """Turn redis-py errors raised in the body into agentkernel errors.

    Args:
        where: The server, for the message (a redacted URL or ``host:port``).
        action: What was being done, e.g. ``"load session 's1'"``.
        session_id: The session concerned, for ``CorruptSession``.
        ambiguous: The call writes, so a timeout may have reached the server; say so.

    Raises:
        StoreUnavailable: the server could not be reached, timed out, is loading, read-only or
            out of memory, or refused the call.
        CorruptSession: a key of ``session_id`` holds the wrong type of value.
    """
    from redis import exceptions as rx

    maybe = (
        " The write may or may not have reached the server: reload the session before trying again "
        "(a retry on the old version is refused, so nothing is applied twice)."
        if ambiguous
        else ""
    )
    try:
        yield
    except rx.ResponseError as exc:
        text = str(exc)
        if session_id is not None and text.startswith("WRONGTYPE"):
            raise CorruptSession(session_id, "a key of the session holds the wrong type of value") from exc
        if "DB index is out of range" in text:
            raise StoreUnavailable(
                f"Redis at {where} has no such database ({text}): the number after the last / in "
                "AK_SESSION__REDIS__URL selects the database and must be below the server's `databases` "
                "setting (16 by default), e.g. redis://localhost:6379/0"
            ) from exc
        raise StoreUnavailable(
            f"Redis at {where} refused to {action}: {text}; check the server's state and memory "
            "(maxmemory, read-only replica, cluster health) and that it runs Redis 6.2 or newer"
        ) from exc
    except rx.TimeoutError as exc:
        raise StoreUnavailable(
            f"Redis at {where} did not answer in time to {action} ({exc}); check that the server is up and "
            f"not overloaded, or raise AK_SESSION__REDIS__SOCKET_TIMEOUT.{maybe}"
        ) from exc
    except rx.AuthenticationError as exc:
        raise StoreUnavailable(
            f"Redis at {where} refused the credentials to {action} ({exc}); check the user and password "
            "in AK_SESSION__REDIS__URL or AK_SESSION__REDIS__PASSWORD"
        ) from exc
    except rx.BusyLoadingError as exc:
        raise StoreUnavailable(
            f"Redis at {where} is still loading its data and cannot {action} yet; retry in a moment"
        ) from exc
    except rx.ConnectionError as exc:
        if not _refused(exc):
            raise _unreachable(where, action, exc, maybe) from exc
        raise StoreUnavailable(
            f"could not connect to Redis at {where} to {action} ({exc}): no server accepts connections "
            "there; check that the server is running (start redis-server) and that the host and port in "
            "AK_SESSION__REDIS__URL are right (nothing was sent, so retrying is safe)"
        ) from exc
    except rx.RedisError as exc:
        raise _unreachable(where, action, exc, maybe) from exc


def _refused(exc: BaseException) -> bool:
    """Whether the connection itself could not be opened (so no command reached the server)."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, ConnectionRefusedError) or "connecting to" in str(exc)


def _unreachable(where: str, action: str, exc: BaseException, maybe: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"could not reach Redis at {where} to {action} ({type(exc).__name__}: {exc}); check that the "
        f"server is running and that AK_SESSION__REDIS__URL points at it.{maybe}"
    )
