"""BatchWriteItem with a body we serialise ourselves, sent through the botocore client's own machinery.

The loader's items are already DynamoDB typed attribute maps, so botocore's shape-walking JSON
serialiser (most of its per-call CPU) only re-checks what our code built. This sender turns the
request into JSON with orjson in one call and keeps everything else botocore's: the client's
endpoint, its SigV4 signer (credentials, refresh, session token, region), its `before-send` event
(so in-process mocks and stubs still answer) and its pooled keep-alive HTTP session. Transient
failures (HTTP 5xx, dropped connections) are retried as botocore's standard mode would; an error
reply becomes the `ClientError` botocore would raise, so the store maps it as before.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, HTTPClientError

OPERATION = "BatchWriteItem"
_TARGET = "DynamoDB_20120810." + OPERATION
_CONTENT_TYPE = "application/x-amz-json-1.0"
_DEFAULT_ATTEMPTS = 3
_BASE_DELAY_S = 0.05
_MAX_DELAY_S = 1.0


def _json_default(value: Any) -> Any:
    """orjson's fallback for what typed maps may hold beyond JSON types (as botocore encodes them)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot serialise {type(value).__name__} in a DynamoDB item")


def encode_batch_write(table_name: str, requests: Sequence[dict[str, Any]]) -> bytes:
    """The BatchWriteItem JSON body for one table's write requests."""
    return orjson.dumps({"RequestItems": {table_name: requests}}, default=_json_default)


def client_error(status: int, body: bytes, headers: Any = None) -> ClientError:
    """The `ClientError` botocore raises for a DynamoDB JSON error reply."""
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    code = str(payload.get("__type", "")).rpartition("#")[2] or str(status)
    message = str(payload.get("message") or payload.get("Message") or "")
    metadata: dict[str, Any] = {"HTTPStatusCode": status, "HTTPHeaders": dict(headers or {})}
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}
    return ClientError(response, OPERATION)


class BatchWriteSender:
    """Sends BatchWriteItem requests for one botocore DynamoDB client."""

    def __init__(
        self,
        *,
        url: str,
        sign: Callable[[str, AWSRequest], Any],
        emit_until_response: Callable[..., tuple[Any, Any]],
        send: Callable[[Any], Any],
        max_attempts: int = _DEFAULT_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._url = url
        self._sign = sign
        self._emit_until_response = emit_until_response
        self._send = send
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._jitter = jitter

    @classmethod
    def for_client(cls, client: Any) -> BatchWriteSender | None:
        """A sender sharing `client`'s endpoint, signer and connections; None when `client` is not a
        plain botocore DynamoDB client (a test double, or a configuration this sender does not cover)."""
        if not isinstance(client, BaseClient) or client.meta.service_model.service_name != "dynamodb":
            return None
        config: Any = client.meta.config  # the stubs omit most of Config's attributes
        events: Any = client.meta.events
        signer = getattr(client, "_request_signer", None)
        http = getattr(getattr(client, "_endpoint", None), "http_session", None)
        # FIPS and dual-stack endpoints come from botocore's endpoint rules, not `endpoint_url`.
        if signer is None or http is None or config.use_fips_endpoint or config.use_dualstack_endpoint:
            return None
        retries = config.retries or {}
        return cls(
            url=client.meta.endpoint_url.rstrip("/") + "/",
            sign=signer.sign,
            emit_until_response=events.emit_until_response,
            send=http.send,
            max_attempts=int(retries.get("total_max_attempts", _DEFAULT_ATTEMPTS)),
        )

    def send(self, table_name: str, requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write `requests` (at most 25) to `table_name`; returns the unprocessed ones. Raises
        `ClientError` for an error reply (after retrying 5xx), or botocore's connection errors."""
        body = encode_batch_write(table_name, requests)
        attempt = 1
        while True:
            try:
                status, content, headers = self._attempt(body)
            except HTTPClientError:
                if attempt >= self._max_attempts:
                    raise
            else:
                if status < 300:
                    reply = orjson.loads(content) if content else {}
                    unprocessed: list[dict[str, Any]] = reply.get("UnprocessedItems", {}).get(table_name, [])
                    return unprocessed
                if status < 500 or attempt >= self._max_attempts:
                    raise client_error(status, content, headers)
            self._sleep(min(_MAX_DELAY_S, _BASE_DELAY_S * 2**attempt) * self._jitter())
            attempt += 1

    def _attempt(self, body: bytes) -> tuple[int, bytes, Any]:
        # A fresh request per attempt: the signature carries the time it was made.
        request = AWSRequest(
            method="POST",
            url=self._url,
            data=body,
            headers={"X-Amz-Target": _TARGET, "Content-Type": _CONTENT_TYPE},
        )
        self._sign(OPERATION, request)
        prepared = request.prepare()
        _, response = self._emit_until_response(f"before-send.dynamodb.{OPERATION}", request=prepared)
        if response is None:
            response = self._send(prepared)
        return int(response.status_code), bytes(response.content or b""), response.headers
