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

moto also makes each transaction undoable by deep-copying every table it touches, whole, and
putting the copy back on failure: a commit to a table of 10,000 items then takes seconds, which
hides what a store's commit really costs. The server patches that (once per process, while it
serializes requests) to snapshot and restore only the items the transaction names.

moto keeps its state per process, not per server: every ``MotoServer`` in one process sees the
same tables, and ``reset()`` on any of them empties all of them.
"""

from __future__ import annotations

import copy
import threading
import urllib.request
from collections.abc import Callable, Iterable
from types import ModuleType, SimpleNamespace, TracebackType
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
        serialize: Let one request at a time into moto, and make its transactions undo only
            their own items (see the module docstring). The latter patch stays in place for the
            rest of the process, so keep the default unless you test moto itself.

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

        if serialize:
            _install_lean_transactions()
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


_installed = False
_install_lock = threading.Lock()


def _install_lean_transactions() -> None:
    """Patch moto's DynamoDB transactions once per process (idempotent); see the module docstring."""
    global _installed
    with _install_lock:
        if _installed:
            return
        models = require("moto.dynamodb.models", extra="dev", feature="MotoServer")
        _patch(models)
        _installed = True


def _patch(models: ModuleType) -> None:
    backend_class = models.DynamoDBBackend
    original = backend_class.transact_write_items

    def no_table_copy(value: Any, memo: Any = None) -> Any:
        # moto copies whole tables here only to undo a failed transaction; the snapshot below
        # replaces that, so the "copy" may be the table itself.
        if isinstance(value, models.Table):
            return value
        return copy.deepcopy(value, memo)

    shim = SimpleNamespace(deepcopy=no_table_copy, copy=copy.copy)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = _snapshot(self, transact_items)
        setattr(models, "copy", shim)  # noqa: B010 - the module global moto's code reads
        try:
            original(self, transact_items)
        except BaseException:
            _restore(snapshots)
            raise
        finally:
            setattr(models, "copy", copy)  # noqa: B010

    backend_class.transact_write_items = transact_write_items


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, deep copy of the item or None) for every item named."""
    invalid = require("moto.dynamodb.exceptions", extra="dev", feature="MotoServer").MockValidationException
    snapshots = []
    for action in transact_items:
        if len(action) != 1:
            continue  # moto rejects it before changing anything
        op_type, op = next(iter(action.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        attrs = op.get("Item", {}) if op_type == "Put" else op.get("Key", {})
        try:
            hash_key, range_key = backend.get_keys_value(table, attrs)
        except invalid:  # a malformed key: moto reports it itself, having changed nothing
            continue
        snapshots.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    return snapshots


def _restore(snapshots: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, item in reversed(snapshots):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
