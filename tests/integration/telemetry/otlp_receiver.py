"""A real OTLP/HTTP endpoint on 127.0.0.1 that decodes every request it receives (opentelemetry-proto)."""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class OtlpReceiver:
    """Collects `ExportTraceServiceRequest`s and `ExportMetricsServiceRequest`s sent to `endpoint`.

    HTTP/1.1 with keep-alive, as collectors answer; HTTPS when given a server `tls` context. `statuses` are
    answered, one per request, before the receiver starts accepting (an entry may carry response headers,
    `(503, {"Retry-After": "1"})`); `drop_connections()` closes every open connection from the server's side.
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.content_types: set[str] = set()
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int | tuple[int, dict[str, str]]] = []
        self.received_at: list[float] = []
        self._tls = tls
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._open.add(self.connection)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                    receiver.received_at.append(time.monotonic())
                    answer = receiver.statuses.pop(0) if receiver.statuses else 200
                status, extra_headers = answer if isinstance(answer, tuple) else (answer, {})
                if status != 200:
                    self.send_response(status)
                    for key, value in extra_headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.content_types.add(self.headers.get("Content-Type", ""))
                response: Any
                path = urlsplit(self.path).path
                if path == "/v1/traces":
                    request: Any = ExportTraceServiceRequest.FromString(body)
                    response = ExportTraceServiceResponse()
                    store: list[Any] = receiver.traces
                elif path == "/v1/metrics":
                    request = ExportMetricsServiceRequest.FromString(body)
                    response = ExportMetricsServiceResponse()
                    store = receiver.metrics
                else:
                    self.send_error(404)
                    return
                with receiver._lock:
                    store.append(request)
                payload = response.SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def endpoint(self) -> str:
        host, port = self.address
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_connections()
        self._server.shutdown()
        self._server.server_close()

    def drop_connections(self) -> None:
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def spans(self) -> list[Span]:
        with self._lock:
            return [
                span
                for request in self.traces
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            ]

    def resources(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            requests = list(self.traces)
        for request in requests:
            for resource_spans in request.resource_spans:
                yield attributes(resource_spans.resource.attributes)

    def metric_list(self) -> list[Metric]:
        with self._lock:
            return [
                metric
                for request in self.metrics
                for resource_metrics in request.resource_metrics
                for scope_metrics in resource_metrics.scope_metrics
                for metric in scope_metrics.metrics
            ]

    def span(self, name: str) -> Span:
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans()]}"
        return found[0]

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()


def attributes(key_values: Any) -> dict[str, Any]:
    """OTLP `KeyValue`s as a dict of plain values."""
    return {kv.key: _value(kv) for kv in key_values}


def _value(kv: KeyValue) -> Any:
    value = kv.value
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(getattr(v, v.WhichOneof("value")) for v in value.array_value.values)
    return getattr(value, kind) if kind else None
