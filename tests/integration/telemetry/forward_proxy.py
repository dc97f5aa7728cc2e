"""An HTTP forward proxy on 127.0.0.1 that sends every request, whatever host it names, to one upstream.

It answers the two ways a client uses a proxy: `CONNECT host:port` (an HTTPS tunnel, bytes relayed both
ways) and an absolute-form request (`POST http://host/path`), forwarded as an origin-form request. The
hosts clients ask for are recorded, so a test can tell that a request went through the proxy.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_RELAY_CHUNK = 65536


class ForwardProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.requested: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_CONNECT(self) -> None:
                proxy._record(f"CONNECT {self.path}")
                with socket.create_connection(upstream, timeout=10) as tunnel:
                    self.send_response(200, "Connection established")
                    self.end_headers()
                    _relay(self.connection, tunnel)
                self.close_connection = True

            def do_POST(self) -> None:
                target = urlsplit(self.path)
                proxy._record(f"POST {target.netloc}")
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
                connection = http.client.HTTPConnection(*upstream, timeout=10)
                try:
                    connection.request("POST", target.path or "/", body=body, headers=headers)
                    answer = connection.getresponse()
                    payload = answer.read()
                finally:
                    connection.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _record(self, line: str) -> None:
        with self._lock:
            self.requested.append(line)

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 10)
        if broken or not readable:
            return
        for source in readable:
            data = source.recv(_RELAY_CHUNK)
            if not data:
                return
            (upstream if source is client else client).sendall(data)
