"""A fault-injecting TCP proxy for testing stores against real servers on loopback.

Put it between a client and a real ``redis-server`` or moto server, then make the next requests
fail in the ways networks do: a request that never arrives, a reply that is lost after the server
applied the request, a delay, or a connection reset. Faults are either queued (``fail_next``, for
exact scenarios) or drawn at random from a seeded generator (``chaos``, for exploring).

The proxy runs its own event loop on a daemon thread, so synchronous and asynchronous tests (and
clients on other loops) can use it alike. It only ever listens on and connects to loopback.

Example:
    >>> with FaultProxy(6379) as proxy:  # doctest: +SKIP
    ...     proxy.fail_next("drop_reply")
    ...     # the next request reaches Redis, but its reply never reaches the client
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Fault", "FaultProxy", "FaultStats"]

Fault = Literal["drop_request", "drop_reply", "delay", "reset"]
"""``drop_request``: close the connection without forwarding the request. ``drop_reply``: forward
the request, then close the connection instead of passing its reply on. ``delay``: hold the
request for the proxy's ``delay`` seconds, then forward it. ``reset``: abort both sides (TCP RST)."""

_CHUNK = 65536


@dataclass
class FaultStats:
    """What the proxy has done so far."""

    connections: int = 0
    forwarded: int = 0
    injected: collections.Counter[str] = field(default_factory=collections.Counter)


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port``, injecting faults on demand.

    Args:
        target_port: The real server's port.
        target_host: The real server's host; must be a loopback address.
        delay: Seconds a ``delay`` fault holds a request.
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", delay: float = 0.2) -> None:
        if not target_host.startswith("127.") and target_host not in ("localhost", "::1"):
            raise ValueError(f"FaultProxy only forwards to loopback, not {target_host!r}")
        self.target = (target_host, target_port)
        self.delay = delay
        self.stats = FaultStats()
        self.port = 0
        self._queued: collections.deque[Fault] = collections.deque()
        self._rate = 0.0
        self._kinds: tuple[Fault, ...] = ()
        self._random = random.Random(0)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # ------------------------------------------------------------------ faults
    def fail_next(self, fault: Fault, count: int = 1) -> None:
        """Inject ``fault`` into each of the next ``count`` requests (in order, after earlier ones)."""
        with self._lock:
            self._queued.extend([fault] * count)

    def chaos(self, rate: float, kinds: tuple[Fault, ...], *, seed: int = 0) -> None:
        """Inject a random fault of ``kinds`` into each request with probability ``rate`` (0 stops it)."""
        if not 0 <= rate <= 1:
            raise ValueError("rate is a probability between 0 and 1")
        with self._lock:
            self._rate, self._kinds, self._random = rate, kinds, random.Random(seed)

    def calm(self) -> None:
        """Stop injecting faults (queued and random) and let every request through."""
        with self._lock:
            self._queued.clear()
            self._rate = 0.0

    def _draw(self) -> Fault | None:
        with self._lock:
            if self._queued:
                fault: Fault | None = self._queued.popleft()
            elif self._rate and self._random.random() < self._rate:
                fault = self._random.choice(self._kinds)
            else:
                fault = None
            if fault is not None:
                self.stats.injected[fault] += 1
            return fault

    # --------------------------------------------------------------- lifecycle
    def start(self) -> FaultProxy:
        """Start listening on a free loopback port (``self.port``)."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def main() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, name="agentkernel-fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def drop_connections(self) -> None:
        """Reset every open connection (as a restarted server or a failover would)."""
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._drop_all(), self._loop).result(10)

    async def _drop_all(self) -> None:
        for writer in list(self._writers):
            _abort(writer)

    def stop(self) -> None:
        """Close the listener and every connection, and stop the thread."""
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            await self._drop_all()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url_host_port(self) -> str:
        """``127.0.0.1:<port>``, for building a client URL."""
        return f"127.0.0.1:{self.port}"

    # ------------------------------------------------------------- forwarding
    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(client_writer)
            return
        self._writers |= {client_writer, server_writer}
        lose_reply = asyncio.Event()
        try:
            await asyncio.gather(
                self._requests(client_reader, server_writer, client_writer, lose_reply),
                self._replies(server_reader, client_writer, server_writer, lose_reply),
            )
        finally:
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                _abort(writer)

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        server: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        lose_reply: asyncio.Event,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(_CHUNK):
                fault = self._draw()
                if fault in ("drop_request", "reset"):
                    _abort(client)
                    _abort(server)
                    return
                if fault == "delay":
                    await asyncio.sleep(self.delay)
                if fault == "drop_reply":
                    lose_reply.set()
                server.write(chunk)
                await server.drain()
                self.stats.forwarded += 1
        with contextlib.suppress(OSError):
            server.write_eof()

    async def _replies(
        self,
        reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        server: asyncio.StreamWriter,
        lose_reply: asyncio.Event,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(_CHUNK):
                if lose_reply.is_set():  # the server applied the request; its answer goes nowhere
                    _abort(client)
                    _abort(server)
                    return
                client.write(chunk)
                await client.drain()
        with contextlib.suppress(OSError):
            client.write_eof()


def _abort(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER 0 makes close() send RST, as a dead peer or a middlebox reset does.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.transport.abort()
