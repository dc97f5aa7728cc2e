"""moto in server mode on one port, with Step Functions executing the state machines it is given.

Three local-only adapters keep it small and quick over long use: moto's registry of model instances holds
them weakly (`model_registry`), a DynamoDB Query reads only its partition (`partition_query`), and a
TransactWriteItems backs up only the items it names (`transaction_backup`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from tenantctl.errors import PortInUseError, ServerNotStartedError
from tenantctl.local.defaults import DEFAULT_HOST, DEFAULT_PORT
from tenantctl.local.model_registry import keep_model_instances_weakly
from tenantctl.local.partition_query import partition_queries
from tenantctl.local.transaction_backup import item_backups

DYNAMODB_WRITES = frozenset(
    f"DynamoDB_20120810.{action}"
    for action in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)


class AtomicDynamoDbWrites:
    """WSGI middleware: one DynamoDB write request at a time.

    DynamoDB applies each write atomically (two concurrent `ADD n :one` both count), while moto's
    threaded server reads, changes and stores an item without a lock, so concurrent writers to one
    item lose updates. Writes are serialised here; reads and other services stay concurrent.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") not in DYNAMODB_WRITES:
            return self._app(environ, start_response)
        with self._lock:
            # The body is produced inside the lock: moto answers with a list, built by the call.
            return list(self._app(environ, start_response))


class _QuietMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer that reports a failed bind instead of leaving `start()` waiting forever."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self.bind_error: OSError | None = None

    def _server_entry(self) -> None:
        app = AtomicDynamoDbWrites(DomainDispatcherApplication(create_backend_app))
        try:
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
        except OSError as exc:
            self.bind_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever()


class LocalServer:
    """Starts and stops the embedded AWS endpoint; port 0 picks a free port."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self._host = host
        self._port = port
        self._server: _QuietMotoServer | None = None
        self._adapters = contextlib.ExitStack()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise ServerNotStartedError("the local AWS is not started")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise ServerNotStartedError("the local AWS is not started")
        return self._server.get_host_and_port()[1]

    def start(self) -> str:
        """Serve every service on one port; return the endpoint URL."""
        # werkzeug logs every request to stderr unless its logger is configured.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        keep_model_instances_weakly()
        server = _QuietMotoServer(self._host, self._port)
        server.start()
        if server.bind_error is not None:
            raise PortInUseError(f"cannot listen on {self._host}:{self._port}: {server.bind_error.strerror}")
        self._server = server
        self._adapters.enter_context(partition_queries())
        self._adapters.enter_context(item_backups())
        # moto's Step Functions interpreter calls the other services on localhost:MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        return self.endpoint_url

    def stop(self) -> None:
        """Stop serving, and forget what was created: moto keeps its state per process, not per
        server, so a local AWS started later in the same process would otherwise find it."""
        if self._server is not None:
            with contextlib.suppress(OSError):  # a server that no longer answers keeps nothing either
                self._post("/moto-api/reset", {})
            self._server.stop()
            self._server = None
            self._adapters.close()

    def _post(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
