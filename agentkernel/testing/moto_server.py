"""A moto server on a free loopback port, for testing DynamoDB code against real HTTP.

Point boto3 at ``server.endpoint_url`` and it talks to moto's in-process AWS emulation exactly as
it would to AWS: real requests, real conditional writes and transactions. Needs the ``moto[server]``
package (a development dependency, not an extra of agentkernel).

Example:
    >>> with MotoServer() as server:  # doctest: +SKIP
    ...     store = DynamoDBStore(endpoint_url=server.endpoint_url)

moto handles requests on several threads but its DynamoDB backend takes no lock: a cancelled
transaction restores a copy of the whole table taken before it began, wiping out any write that
another thread made meanwhile. Real DynamoDB isolates transactions, so this server lets one
request at a time into moto (``serialize=True``, the default) to behave like it.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from agentkernel._optional import require

__all__ = ["MotoServer"]

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _OneAtATime:
    """WSGI middleware that runs one request at a time through the wrapped app."""

    def __init__(self, app: _WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class MotoServer:
    """moto's ``ThreadedMotoServer`` on ``127.0.0.1`` and a free port.

    Args:
        serialize: Let one request at a time into moto (see the module docstring).

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>`` once started.
    """

    def __init__(self, *, serialize: bool = True) -> None:
        server_module = require("moto.server", extra="dev", feature="agentkernel.testing.MotoServer")
        serialize_requests = serialize

        class _Server(server_module.ThreadedMotoServer):  # type: ignore[misc, name-defined]
            def _server_entry(self) -> None:
                # ThreadedMotoServer._server_entry, with the app wrapped when asked.
                werkzeug_app = require("moto.moto_server.werkzeug_app", extra="dev", feature="MotoServer")
                serving = require("werkzeug.serving", extra="dev", feature="MotoServer")
                app = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
                wrapped = _OneAtATime(app) if serialize_requests else app

                class _QuietHandler(werkzeug_app.MotoRequestHandler):  # type: ignore[misc, name-defined]
                    def log_request(self, *args: Any, **kwargs: Any) -> None:
                        pass  # one line per request on stderr drowns test output

                self._server = serving.make_server(
                    self._ip_address, self._port, wrapped, True, request_handler=_QuietHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server: Any = _Server(ip_address="127.0.0.1", port=0, verbose=False)
        self._started = False
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        """Start serving on a free loopback port; returns ``self``."""
        if not self._started:
            self._server.start()
            host, port = self._server.get_host_and_port()
            self.endpoint_url = f"http://{host}:{port}"
            self._started = True
        return self

    def stop(self) -> None:
        """Stop serving. The port is freed; a later ``start`` picks a new one."""
        if self._started:
            self._server.stop()
            self._started = False

    def reset(self) -> None:
        """Forget every table and item (moto's ``POST /moto-api/reset``)."""
        if not self._started:
            raise RuntimeError("MotoServer.reset() needs a started server; call start() first")
        url = self.endpoint_url + "/moto-api/reset"  # always http://127.0.0.1:<port>
        request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
