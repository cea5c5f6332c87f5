"""The RedisServer test helper: a real redis-server that tests can stop, restart, pause and kill."""

from __future__ import annotations

import socket

import pytest

from agentkernel.testing.redis_server import RedisServer, RedisServerError


def _call(server: RedisServer, *command: str) -> bytes:
    payload = b"".join([f"*{len(command)}\r\n".encode()] + [f"${len(c)}\r\n{c}\r\n".encode() for c in command])
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(payload)
        return sock.recv(256)


def test_a_missing_binary_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RedisServerError, match=r"apt-get install redis-server"):
        RedisServer()


def test_a_binary_that_exits_at_start_is_reported() -> None:
    server = RedisServer(binary="/bin/false")
    with pytest.raises(RedisServerError, match="exited at start"):
        server.start()
    server.close()


def test_restart_keeps_the_data_and_the_port() -> None:
    with RedisServer() as server:
        url = server.url
        assert url == f"redis://127.0.0.1:{server.port}/0"
        assert _call(server, "SET", "k", "v") == b"+OK\r\n"
        server.restart()
        assert server.running
        assert server.url == url
        assert _call(server, "GET", "k") == b"$1\r\nv\r\n"
        server.flushall()
        assert _call(server, "GET", "k") == b"$-1\r\n"


def test_kill_loses_what_was_not_saved_like_a_crash() -> None:
    with RedisServer() as server:
        _call(server, "SET", "saved", "1")
        server.stop()  # saves
        server.start()
        _call(server, "SET", "unsaved", "1")
        server.kill()
        assert not server.running
        server.start()
        assert _call(server, "EXISTS", "saved") == b":1\r\n"
        assert _call(server, "EXISTS", "unsaved") == b":0\r\n"


def test_close_stops_the_process() -> None:
    server = RedisServer()
    with server:
        assert server.running
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


def test_a_taken_port_is_an_error_when_chosen_and_replaced_when_automatic() -> None:
    with RedisServer() as first:
        taken = RedisServer(port=first.port)
        with pytest.raises(RedisServerError, match="taken"):
            taken.start()
        taken.close()
        second = RedisServer()
        second._port = first.port  # as if another process took the free port first
        with second:
            assert second.port != first.port
            assert _call(second, "PING") == b"+PONG\r\n"
