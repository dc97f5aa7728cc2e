"""The exporter's HTTP/1.1 client against a raw socket server: framing, keep-alive and malformed answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from tenant_telemetry.exporters.http_post import HttpConnection, ResponseError, valid_header
from tenant_telemetry.exporters.otlp_http import OtlpHttpClient, OtlpTarget


class ScriptedServer:
    """Answers each request on a connection with the next canned response; records what it received."""

    def __init__(self, responses: list[bytes], *, close_after: bool = False) -> None:
        self.responses = responses
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.responses:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn, conn.makefile("rb") as reader:
                while self.responses:
                    request = self._read_request(reader)
                    if request is None:
                        break
                    self.requests.append(request)
                    conn.sendall(self.responses.pop(0))
                    if self.close_after:
                        break

    @staticmethod
    def _read_request(reader: BinaryIO) -> bytes | None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()
            if not line:
                return None
            head += line
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        return head + reader.read(length)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def server_factory() -> Iterator[list[ScriptedServer]]:
    servers: list[ScriptedServer] = []
    yield servers
    for server in servers:
        server.close()


def serve(servers: list[ScriptedServer], *responses: bytes, close_after: bool = False) -> ScriptedServer:
    server = ScriptedServer(list(responses), close_after=close_after)
    servers.append(server)
    return server


def test_request_framing_and_a_chunked_answer_keep_the_connection(
    server_factory: list[ScriptedServer],
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n"
    )
    server = serve(server_factory, chunked, b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
    connection = HttpConnection("127.0.0.1", server.port, timeout=2)

    assert connection.post("/v1/traces", b"\x0a\x00", {"X-Key": "v"}, 2) == (200, "OK")
    assert connection.post("/v1/traces", b"", {}, 2) == (202, "Accepted")
    connection.close()

    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/traces HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Content-Length: 2" in lines
    assert b"X-Key: v" in lines
    assert body == b"\x0a\x00"


@pytest.mark.parametrize(
    ("answer", "closes"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", False),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False),
    ],
)
def test_keep_alive_follows_the_answer(
    server_factory: list[ScriptedServer], answer: bytes, closes: bool
) -> None:
    server = serve(server_factory, answer)
    connection = HttpConnection("127.0.0.1", server.port, timeout=2)

    status, _ = connection.post("/", b"x", {}, 2)
    connection.close()

    assert status in (200, 204)
    assert connection.will_close is closes


def test_an_unframed_body_is_read_to_the_end_of_the_connection(server_factory: list[ScriptedServer]) -> None:
    server = serve(server_factory, b"HTTP/1.1 200 OK\r\n\r\npartial success", close_after=True)
    connection = HttpConnection("127.0.0.1", server.port, timeout=2)

    assert connection.post("/", b"x", {}, 2)[0] == 200
    assert connection.will_close
    connection.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # closed without an answer
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_answer_is_a_connection_error(
    server_factory: list[ScriptedServer], answer: bytes
) -> None:
    server = serve(server_factory, answer, close_after=True)
    connection = HttpConnection("127.0.0.1", server.port, timeout=2)

    with pytest.raises(ResponseError):
        connection.post("/", b"x", {}, 2)
    connection.close()


def test_the_exporter_leaves_out_a_header_that_could_split_the_request(
    server_factory: list[ScriptedServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(server_factory, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    target = OtlpTarget(
        url=f"http://127.0.0.1:{server.port}/v1/traces",
        headers={"x-ok": "1", "x-bad": "v\r\nInjected: yes"},
        timeout_s=2,
    )

    assert OtlpHttpClient(target).post(b"")

    head = server.requests[0].split(b"\r\n\r\n")[0]
    assert b"x-ok: 1" in head
    assert b"Injected" not in head
    assert "x-bad" in caplog.text


def test_header_validation() -> None:
    assert valid_header("Authorization", "Bearer a=b")
    assert not valid_header("", "v")
    assert not valid_header("a b", "v")
    assert not valid_header("a", "v\nb")
