"""HTTP/1.1 POST over one kept-alive socket: all an OTLP/HTTP exporter asks of an HTTP client.

`http.client` parses response headers with the `email` package and imports `ssl` whatever the scheme:
about 8% of this layer's cold start when shipped without bytecode, for requests whose answer is a status
line, a few headers and a short body. Here `ssl` is imported only for an https endpoint.

Failures are `OSError`s (a closed connection, a timeout, a malformed response), so a caller handles one
exception family; the caller reconnects after any of them.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

MAX_LINE = 65_536
MAX_HEADERS = 100


class ResponseError(ConnectionError):
    """The server's answer was not a well-formed HTTP/1.x response (or the connection closed before it)."""


def valid_header(name: str, value: str) -> bool:
    """A header that cannot split the request: no CR, LF or NUL, a non-empty name without separators."""
    return bool(name) and not any(c in name for c in "\r\n\0: \t") and not any(c in value for c in "\r\n\0")


class HttpConnection:
    """One connection to `host:port`, reused while the server keeps it alive."""

    def __init__(self, host: str, port: int, *, timeout: float, tls: Any = None) -> None:
        """`tls`: an `ssl.SSLContext` for https, None for plain http."""
        self.host, self.port, self._tls = host, port, tls
        self._host_header = (f"[{host}]" if ":" in host else host) + (
            "" if port == (443 if tls else 80) else f":{port}"
        )
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        self._sock = sock
        self._reader = sock.makefile("rb")
        self.will_close = False

    def post(self, path: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, str]:
        """Send one request and read the whole response; (status, reason)."""
        self._sock.settimeout(timeout)
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self._host_header}",
            "Accept-Encoding: identity",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        while True:
            version, status, reason = self._status_line()
            fields = self._headers()
            if not 100 <= status < 200:  # an interim response is followed by the real one
                break
        connection = fields.get("connection", "").lower()
        self.will_close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        if status not in (204, 304):
            self._read_body(fields)
        return status, reason

    def _line(self) -> bytes:
        line = self._reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise ResponseError("response line too long")
        return line

    def _status_line(self) -> tuple[str, int, str]:
        line = self._line()
        if not line:
            raise ResponseError("connection closed without a response")
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
            raise ResponseError(f"malformed status line {line[:80]!r}")
        return version, int(code), reason.strip()

    def _headers(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if line in (b"\r\n", b"\n", b""):
                return fields
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        raise ResponseError("too many response headers")

    def _read_body(self, fields: Mapping[str, str]) -> None:
        """Read and drop the body (the partial-success message is not used), leaving the next response."""
        if "chunked" in fields.get("transfer-encoding", "").lower():
            while True:
                size_field = self._line().split(b";", 1)[0].strip()
                try:
                    size = int(size_field, 16)
                except ValueError:
                    raise ResponseError(f"malformed chunk size {size_field[:20]!r}") from None
                if size == 0:
                    self._headers()  # trailers, up to the final empty line
                    return
                self._exactly(size + 2)  # the chunk and its CRLF
        length = fields.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise ResponseError(f"malformed Content-Length {length[:20]!r}")
            self._exactly(int(length))
        elif not self.will_close:
            self.will_close = True  # no framing: the body runs to the end of the connection
        if self.will_close and length is None:
            self._reader.read()

    def _exactly(self, size: int) -> None:
        if len(self._reader.read(size)) != size:
            raise ResponseError("connection closed in the middle of a response")

    def close(self) -> None:
        self._reader.close()
        self._sock.close()
