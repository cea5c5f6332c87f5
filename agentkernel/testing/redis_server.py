"""A real ``redis-server`` on a free loopback port, for tests and benchmarks.

Each :class:`RedisServer` runs its own ``redis-server`` process in its own temporary directory,
bound to 127.0.0.1 only. It writes no snapshots on its own (``save ""``, no append-only file);
:meth:`RedisServer.stop` saves one explicitly, so :meth:`RedisServer.restart` comes back with
the data it had, while :meth:`RedisServer.kill` loses whatever was not saved, like a crash.

Example:
    >>> with RedisServer() as server:  # doctest: +SKIP
    ...     store = RedisStore.from_url(server.url)

No Redis client library is needed: the helper speaks the few commands it uses itself.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["RedisServer", "RedisServerError"]

_INSTALL_HINT = (
    "redis-server was not found on PATH; install the Debian package (sudo apt-get install redis-server) "
    "or run `bash scripts/dev setup`, or pass binary= the path of a redis-server executable"
)


class RedisServerError(RuntimeError):
    """The ``redis-server`` binary is missing, or the server did not start or stop."""


class _PortTaken(Exception):
    """Another process listens on the chosen port."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1, started and stopped by the test that owns it.

    Args:
        binary: The ``redis-server`` executable (default: found on ``PATH``).
        port: The port to listen on (default: a free one, kept across restarts).
        startup_timeout: Seconds to wait for the server to answer ``PING``.

    Raises:
        RedisServerError: the binary is missing (the message says how to install it).
    """

    def __init__(self, *, binary: str | None = None, port: int | None = None, startup_timeout: float = 10.0) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise RedisServerError(_INSTALL_HINT)
        self._binary = found
        self._auto_port = port is None
        self._port = port or _free_port()
        self._started = False
        self._startup_timeout = startup_timeout
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (the same after a restart)."""
        return self._port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self._port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server (loading the data the last :meth:`stop` saved) and wait until it answers.

        A port chosen automatically that another process grabs first is replaced by a fresh one,
        but only before the first start: afterwards the port stays, as clients rely on it.

        Raises:
            RedisServerError: it exited or did not answer within ``startup_timeout`` seconds.
        """
        if self.running:
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="agentkernel-redis-"))
        attempts = 3 if self._auto_port and not self._started else 1
        for attempt in range(1, attempts + 1):
            try:
                self._launch(self._dir)
            except _PortTaken:
                if attempt == attempts:
                    raise RedisServerError(
                        f"port {self._port} is taken by another process; pass a free port="
                    ) from None
                self._port = _free_port()
            else:
                self._started = True
                return

    def _launch(self, directory: Path) -> None:
        log = directory / "redis.log"
        args = [
            self._binary,
            "--port", str(self._port),
            "--bind", "127.0.0.1",
            "--dir", str(directory),
            "--dbfilename", "dump.rdb",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(log),
        ]
        process = self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                self._reap()
                detail = stderr.strip() or self._tail(log)
                if "already in use" in detail:
                    raise _PortTaken
                raise RedisServerError(f"redis-server exited at start: {detail}")
            reply = self._call("CONFIG", "GET", "dir")
            if reply is not None and str(directory).encode() in reply:
                return  # our server, not another one that happens to listen on this port
            if reply:
                self.kill()
                raise _PortTaken
            time.sleep(0.02)
        self.kill()
        raise RedisServerError(
            f"redis-server did not answer on port {self._port} within {self._startup_timeout}s: {self._tail(log)}"
        )

    def stop(self) -> None:
        """Save the data to this server's directory and shut the server down (``SHUTDOWN SAVE``)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            self._call("SHUTDOWN", "SAVE")
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._reap()

    def kill(self) -> None:
        """Kill the server at once (``SIGKILL``), like a crash: data not yet saved is lost."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._reap()

    def pause(self) -> None:
        """Freeze the server (``SIGSTOP``): connections stay open but nothing answers, like a hung host."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (``SIGCONT``); it then serves what was sent meanwhile."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def flushall(self) -> None:
        """Remove every key (``FLUSHALL``), e.g. between tests.

        Raises:
            RedisServerError: the server did not confirm.
        """
        reply = self._call("FLUSHALL")
        if reply != b"+OK\r\n":
            raise RedisServerError(f"FLUSHALL on port {self._port} failed: {reply!r}")

    def restart(self) -> None:
        """:meth:`stop` then :meth:`start` on the same port, with the data intact."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Kill the server and remove its directory."""
        self.kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisServer(url={self.url!r}, running={self.running})"

    # ---------------------------------------------------------------- helpers
    def _reap(self) -> None:
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None

    def _call(self, *command: str) -> bytes | None:
        """Send one command and return the first reply chunk, or ``None`` if nobody answered."""
        try:
            with socket.create_connection(("127.0.0.1", self._port), timeout=1.0) as sock:
                sock.sendall(_command(*command))
                return sock.recv(1024)
        except OSError:
            return None

    @staticmethod
    def _tail(log: Path) -> str:
        try:
            return " | ".join(log.read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return "(no log)"
