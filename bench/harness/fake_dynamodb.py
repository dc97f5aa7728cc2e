"""A do-nothing DynamoDB-compatible HTTP endpoint on loopback.

It speaks DynamoDB's JSON 1.0 protocol well enough for boto3 (BatchWriteItem answers
`{"UnprocessedItems": {}}`, DescribeTable describes a `pk`/`sk` table, ...) and stores nothing, so a
client benchmark against it measures the client: serialisation, validation, signing, HTTP. It runs in
its own process (`FakeDynamoDB`) so its CPU is never billed to the client being measured.

It keeps counts per operation and per table, and an order-independent digest of every item written,
so two writers can be checked to have sent exactly the same items. It also accepts OTLP/HTTP exports
(`/v1/traces`, `/v1/metrics`, `/v1/logs`) and drops them, so telemetry can export somewhere real.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
_TARGET_PREFIX = "DynamoDB_20120810."
_DIGEST_MOD = 2**64
_OTLP_PATHS = ("/v1/traces", "/v1/metrics", "/v1/logs")


def item_digest(item: dict[str, Any]) -> int:
    """Digest of one typed item (`{"pk": {"S": ...}, ...}`), independent of attribute order."""
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":")).encode()
    return int.from_bytes(hashlib.sha256(canonical).digest()[:8], "big")


@dataclass
class Tally:
    """What the endpoint has received since the last reset."""

    operations: Counter[str] = field(default_factory=Counter)
    items_by_table: Counter[str] = field(default_factory=Counter)
    digest: int = 0
    otlp_requests: int = 0
    captured: list[dict[str, Any]] = field(default_factory=list)
    capture: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": dict(self.operations),
            "items_by_table": dict(self.items_by_table),
            "items": sum(self.items_by_table.values()),
            "digest": self.digest,
            "otlp_requests": self.otlp_requests,
        }

    def record_item(self, table: str, item: dict[str, Any]) -> None:
        self.items_by_table[table] += 1
        self.digest = (self.digest + item_digest(item)) % _DIGEST_MOD
        if self.capture:
            self.captured.append(item)


def _table_description(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "TableStatus": "ACTIVE",
        "TableArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ItemCount": 0,
        "TableSizeBytes": 0,
    }


def _batch_write(tally: Tally, request: dict[str, Any]) -> dict[str, Any]:
    for table, writes in request.get("RequestItems", {}).items():
        for write in writes:
            if "PutRequest" in write:
                tally.record_item(table, write["PutRequest"]["Item"])
    return {"UnprocessedItems": {}}


def _put(tally: Tally, request: dict[str, Any]) -> dict[str, Any]:
    tally.record_item(request.get("TableName", ""), request.get("Item", {}))
    return {}


def _update(tally: Tally, request: dict[str, Any]) -> dict[str, Any]:
    returns = request.get("ReturnValues", "NONE") != "NONE"
    return {"Attributes": request.get("Key", {})} if returns else {}


_ANSWERS: dict[str, Callable[[Tally, dict[str, Any]], dict[str, Any]]] = {
    "BatchWriteItem": _batch_write,
    "PutItem": _put,
    "UpdateItem": _update,
    "DescribeTable": lambda _, r: {"Table": _table_description(r.get("TableName", ""))},
    "CreateTable": lambda _, r: {"TableDescription": _table_description(r.get("TableName", ""))},
    "Query": lambda _, r: {"Items": [], "Count": 0, "ScannedCount": 0},
    "Scan": lambda _, r: {"Items": [], "Count": 0, "ScannedCount": 0},
    "BatchGetItem": lambda _, r: {
        "Responses": {t: [] for t in r.get("RequestItems", {})},
        "UnprocessedKeys": {},
    },
    "GetItem": lambda _, r: {},
    "DeleteItem": lambda _, r: {},
    "TransactWriteItems": lambda _, r: {},
    "ListTables": lambda _, r: {"TableNames": []},
}


def answer(tally: Tally, operation: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """DynamoDB's reply to one operation, as (HTTP status, JSON body); records what was written."""
    tally.operations[operation] += 1
    reply = _ANSWERS.get(operation)
    if reply is None:
        return 400, {
            "__type": "com.amazon.coral.service#UnknownOperationException",
            "message": f"{operation} is not supported by the benchmark endpoint",
        }
    return 200, reply(tally, request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint; clients reuse connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a benchmark endpoint must not spend time logging."""

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "bench")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.lock:
            tally = self.server.tally
            if self.path == "/__stats":
                body = json.dumps(tally.to_dict()).encode()
            elif self.path == "/__items":
                body = json.dumps(tally.captured).encode()
            else:
                self._reply(404, b"{}", "application/json")
                return
        self._reply(200, body, "application/json")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path in _OTLP_PATHS:
            with self.server.lock:
                self.server.tally.otlp_requests += 1
            self._reply(200, b"", "application/x-protobuf")
            return
        if self.path.startswith("/__reset"):
            with self.server.lock:
                self.server.tally = Tally(capture="capture=1" in self.path)
            self._reply(200, b"{}", "application/json")
            return
        target = self.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(_TARGET_PREFIX)
        with self.server.lock:
            status, body = answer(self.server.tally, operation, json.loads(raw or b"{}"))
        self._reply(status, json.dumps(body).encode(), _JSON_CONTENT_TYPE)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.lock = threading.Lock()
        self.tally = Tally()


class FakeDynamoDB:
    """Client side of the endpoint running in a child process: its URL, counts and captured items."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self._process = process
        self.endpoint_url = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            self.endpoint_url + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def reset(self, *, capture: bool = False) -> None:
        """Forget everything received; with `capture`, keep every written item for `items()`."""
        self._call("POST", "/__reset?capture=1" if capture else "/__reset")

    def stats(self) -> dict[str, Any]:
        """Counts per operation and table, total items, and the order-independent item digest."""
        result: dict[str, Any] = self._call("GET", "/__stats")
        return result

    def items(self) -> list[dict[str, Any]]:
        """Typed items written since a `reset(capture=True)`."""
        result: list[dict[str, Any]] = self._call("GET", "/__items")
        return result


@contextmanager
def fake_dynamodb() -> Iterator[FakeDynamoDB]:
    """Start the endpoint in its own process on a free loopback port; stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.harness.fake_dynamodb"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark DynamoDB endpoint did not start: {line!r}")
        yield FakeDynamoDB(process, int(line.split()[1]))
    finally:
        process.terminate()
        process.wait(timeout=10)


def serve(port: int = 0) -> None:
    """Serve until terminated, after printing `PORT n` for the parent."""
    server = _Server(port)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
