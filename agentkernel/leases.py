"""The run lease: one run per session at a time, across processes, with an expiry.

A run takes the session's lease before it loads the session and gives it back after it commits.
While the run lasts the lease is renewed in the background, so a long run keeps it and a crashed
worker loses it when it expires. A lease never replaces version checks: a commit is still refused
if the session changed, so a lost lease cannot lose a turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator

from agentkernel.errors import SessionBusy, StoreUnavailable
from agentkernel.stores.base import SessionStore

__all__ = ["hold_lease"]

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def hold_lease(store: SessionStore, session_id: str, *, ttl: float, wait: float) -> AsyncIterator[str]:
    """Hold the session's lease for the body of an ``async with``.

    Args:
        store: The store that keeps leases.
        session_id: The session.
        ttl: Seconds the lease lasts unless renewed; it is renewed every ``ttl / 3`` seconds.
        wait: Seconds to wait for a lease someone else holds (0: do not wait).

    Yields:
        The lease token.

    Raises:
        SessionBusy: the lease was still held by another run after ``wait`` seconds.
    """
    token = secrets.token_hex(16)
    deadline = time.monotonic() + wait
    delay = 0.005
    while not await store.acquire_lease(session_id, token, ttl):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SessionBusy(session_id, retry_after=1.0)
        await asyncio.sleep(min(delay * random.uniform(0.5, 1.5), remaining))
        delay = min(delay * 2, 0.25)
    renewer = asyncio.create_task(_keep_renewed(store, session_id, token, ttl))
    try:
        yield token
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        try:
            await asyncio.shield(store.release_lease(session_id, token))
        except StoreUnavailable as exc:  # it expires by itself; the run's outcome stands
            logger.warning("could not release the lease of session %s: %s", session_id, exc)


async def _keep_renewed(store: SessionStore, session_id: str, token: str, ttl: float) -> None:
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            if not await store.renew_lease(session_id, token, ttl):
                logger.warning("lost the lease of session %s; its commit is still version-checked", session_id)
                return
        except StoreUnavailable as exc:
            logger.warning("could not renew the lease of session %s: %s", session_id, exc)
