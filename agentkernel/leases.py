"""The run lease: one run per session at a time, across processes, with an expiry.

A run takes the session's lease before it loads the session and gives it back after it commits.
While the run lasts the lease is renewed in the background, so a long run keeps it and a crashed
worker loses it when it expires.

A run that loses its lease (a renewal refused because the lease expired and someone else took it,
or renewals failing until the lease's own expiry passed) must not go on as if it still held the
session: framework work running under :meth:`Lease.guard` is cancelled and the run ends with
:class:`~agentkernel.errors.LeaseLost`, and :meth:`Lease.check` refuses to let it commit. The
commit stays version-checked as well, so even a lease lost between the check and the write cannot
lose a turn.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Iterator

from agentkernel.errors import LeaseLost, SessionBusy, StoreUnavailable
from agentkernel.stores.base import SessionStore, supports_lease_info

__all__ = ["Lease", "hold_lease"]

logger = logging.getLogger(__name__)

_RELEASE_DELAYS = (0.05, 0.2, 0.5)
"""Pauses between attempts to release a lease when the store fails (then it expires by itself)."""

_SAFETY = 0.9
"""Trust a lease for this share of its ttl after the last renewal began (clocks and round trips)."""


class Lease:
    """A run lease this process holds, as :func:`hold_lease` yields it.

    Attributes:
        user_id: The owner of the session it guards.
        session_id: The session it guards.
        token: The holder's token in the store.
    """

    def __init__(self, user_id: str, session_id: str, token: str, ttl: float) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.token = token
        self.ttl = ttl
        self._valid_until = time.monotonic() + ttl * _SAFETY
        self._lost = False
        self._guarded: asyncio.Task[object] | None = None
        self._cancelled = False

    @property
    def lost(self) -> bool:
        """Whether this process can no longer count on holding the lease."""
        return self._lost or time.monotonic() >= self._valid_until

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is still held; call it before committing."""
        if self.lost:
            raise LeaseLost(self.session_id)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Run the awaits inside the block so that losing the lease cancels them.

        Use it around framework work, never around a ``yield`` to a consumer: the cancellation
        goes to the task running the block, which is then turned into :class:`LeaseLost`.

        Raises:
            LeaseLost: the lease was lost before or while the block ran.
        """
        self.check()
        task = asyncio.current_task()
        self._guarded = task
        try:
            yield
        except asyncio.CancelledError:
            if self._cancelled and task is not None and task.uncancel() == 0:
                raise LeaseLost(self.session_id) from None
            raise
        finally:
            self._guarded = None
        if self._cancelled:  # the work finished before the cancellation landed
            if task is not None:
                task.uncancel()
            raise LeaseLost(self.session_id)

    def _renewed(self, started: float) -> None:
        self._valid_until = started + self.ttl * _SAFETY

    def _lose(self) -> None:
        self._lost = True
        task = self._guarded
        if task is not None and not self._cancelled:
            self._cancelled = True
            task.cancel()


@contextlib.asynccontextmanager
async def hold_lease(
    store: SessionStore, user_id: str, session_id: str, *, ttl: float, wait: float
) -> AsyncIterator[Lease]:
    """Hold the session's lease for the body of an ``async with``.

    Args:
        store: The store that keeps leases.
        user_id: The session's owner.
        session_id: The session.
        ttl: Seconds the lease lasts unless renewed; it is renewed every ``ttl / 3`` seconds.
        wait: Seconds to wait for a lease someone else holds (0: do not wait).

    Yields:
        The held :class:`Lease`.

    Raises:
        SessionBusy: the lease was still held by another run after ``wait`` seconds.
    """
    token = secrets.token_hex(16)
    deadline = time.monotonic() + wait
    delay = 0.005
    key = (id(store), user_id, session_id)
    place: _Place | None = None  # our place in this process's line for the session
    try:
        while True:
            started = time.monotonic()
            line = _lines.get(key)
            if (place is None and line) or (place is not None and line and line[0] is not place):
                acquired = False  # others of this process came first: first come, first served
            else:
                try:
                    acquired = await store.acquire_lease(user_id, session_id, token, ttl)
                except StoreUnavailable:
                    # The store may have granted the lease before failing to say so: give it back
                    # (one best-effort try) rather than leave the session locked for the whole ttl.
                    with contextlib.suppress(StoreUnavailable):
                        await asyncio.shield(store.release_lease(user_id, session_id, token))
                    raise
            if acquired:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SessionBusy(session_id, retry_after=await _retry_after(store, user_id, session_id))
            if place is None:
                place = _Place()
                _lines.setdefault(key, collections.deque()).append(place)
            # A release in this process hands the lease on at once; a holder elsewhere is polled for.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(place.event.wait(), timeout=min(delay * random.uniform(0.5, 1.5), remaining))
            place.event.clear()
            delay = min(delay * 2, 0.25)
    finally:
        line = _lines.get(key)
        if place is not None and line is not None:
            head = line[0] is place
            line.remove(place)
            if not line:
                del _lines[key]
            elif head:  # we leave the front: the next in line may try now
                line[0].set()
    lease = Lease(user_id, session_id, token, ttl)
    lease._renewed(started)
    stop = asyncio.Event()
    renewer = asyncio.create_task(_keep_renewed(store, lease, stop), name=f"agentkernel-lease-{session_id}")
    try:
        yield lease
    finally:
        stop.set()
        renewer.cancel()
        try:
            # Wait without letting the renewer's end (or a cancellation it swallowed) raise here;
            # the stop flag ends its loop even if a driver ate the CancelledError.
            await asyncio.wait([renewer], timeout=max(1.0, ttl / 3))
        finally:
            await asyncio.shield(asyncio.ensure_future(_release(store, lease)))


async def _retry_after(store: SessionStore, user_id: str, session_id: str) -> float:
    """When a refused run may try again: the holder's lease's real time left, where the store says."""
    if supports_lease_info(store):
        with contextlib.suppress(StoreUnavailable):
            left = await store.lease_remaining(user_id, session_id)
            if left is not None:
                return max(0.1, left)
    return 1.0


async def _keep_renewed(store: SessionStore, lease: Lease, stop: asyncio.Event) -> None:
    interval = lease.ttl / 3
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        started = time.monotonic()
        try:
            held = await store.renew_lease(lease.user_id, lease.session_id, lease.token, lease.ttl)
        except StoreUnavailable as exc:
            logger.warning("could not renew the lease of session %s: %s", lease.session_id, exc)
            if lease.lost:
                logger.warning("the lease of session %s ran out while the store failed; stopping the run",
                               lease.session_id)
                lease._lose()
                return
            interval = min(lease.ttl / 3, max(0.05, (lease._valid_until - time.monotonic()) / 3))
            continue
        if stop.is_set():
            return
        if not held:
            logger.warning("lost the lease of session %s; stopping the run", lease.session_id)
            lease._lose()
            return
        lease._renewed(started)
        interval = lease.ttl / 3


class _Place:
    """A run's place in line: woken (from any thread) when the lease is handed on to it."""

    __slots__ = ("event", "loop")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def set(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.event.set()
        else:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting
                self.loop.call_soon_threadsafe(self.event.set)


_lines: dict[tuple[int, str, str], collections.deque[_Place]] = {}
"""Runs of this process waiting for a session's lease, by store and session, in arrival order."""


def _hand_on(store: SessionStore, user_id: str, session_id: str) -> None:
    line = _lines.get((id(store), user_id, session_id))
    if line:
        line[0].set()


async def _release(store: SessionStore, lease: Lease) -> None:
    for attempt, pause in enumerate((*_RELEASE_DELAYS, None), start=1):
        try:
            await store.release_lease(lease.user_id, lease.session_id, lease.token)
            _hand_on(store, lease.user_id, lease.session_id)
            return
        except StoreUnavailable as exc:
            if pause is None:  # it expires by itself; the run's outcome stands
                logger.warning("could not release the lease of session %s after %d attempts: %s",
                               lease.session_id, attempt, exc)
                return
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
