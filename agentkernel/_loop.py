"""One event loop on a background thread, so synchronous callers can await the async core.

``Runner.run_sync`` and the ``agentkernel`` command both use it: the calling thread blocks (and
receives Ctrl-C) while coroutines run on the loop thread, which keeps one set of connections and
pools for all calls.

Ctrl-C never leaves a coroutine running behind the caller's back: whenever the
``KeyboardInterrupt`` lands (before the coroutine was handed to the loop, after it was scheduled
but before it started, or while it runs), the coroutine is cancelled, or never started, and the
interrupt reaches the caller only once it has finished. So an interrupted run has released its
session lease and committed nothing when the caller goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")

_CLEANUP_WAIT = 30.0
"""Seconds an interrupted call waits for its coroutine to finish cancelling."""


class LoopThread:
    """An event loop running on a daemon thread.

    Args:
        name: The thread's name.
    """

    def __init__(self, name: str = "agentkernel-loop") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # Ctrl-C is for the thread that waits, not this one (nor the threads it starts, which
        # inherit the mask): a SIGINT taken here would leave the waiting thread blocked.
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (or raise its exception).

        Raises:
            KeyboardInterrupt: Ctrl-C arrived; the coroutine was cancelled (or never started) and
                has finished.
        """
        call = _Call(coro)
        try:
            # Everything from scheduling on is inside the try: an interrupt that lands while the
            # call is being scheduled, or just after, still cancels it.
            self._loop.call_soon_threadsafe(call.start, self._loop)
            return call.result()
        except KeyboardInterrupt:
            self._cancel(call)
            raise

    def _cancel(self, call: _Call[Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(call.cancel)
        except RuntimeError:  # the loop is closed: nothing runs on it any more
            call.close()
            return
        call.finished.wait(timeout=_CLEANUP_WAIT)

    def stop(self) -> None:
        """Stop the loop and its thread."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


class _Call(Generic[T]):
    """One coroutine handed to the loop: started, cancelled and finished on the loop thread."""

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro
        self._task: asyncio.Task[T] | None = None
        self._outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.finished = threading.Event()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the coroutine as a task (on the loop thread)."""
        self._task = loop.create_task(self._coro)
        self._task.add_done_callback(self._done)

    def cancel(self) -> None:
        """Cancel the task (on the loop thread); a call that never started is closed instead.

        Callbacks run in the order they were scheduled, so if ``start`` was scheduled at all it
        has run before this: no task here means it never will.
        """
        if self._task is None:
            self.close()
        else:
            self._task.cancel()

    def close(self) -> None:
        """Close a coroutine that never started."""
        self._coro.close()
        self._outcome.cancel()
        self.finished.set()

    def result(self) -> T:
        """Wait for the task and return its result."""
        return self._outcome.result()

    def _done(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self._outcome.cancel()
        elif (error := task.exception()) is not None:
            self._outcome.set_exception(error)
        else:
            self._outcome.set_result(task.result())
        self.finished.set()
