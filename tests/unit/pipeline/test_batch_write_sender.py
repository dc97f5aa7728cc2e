"""BatchWriteSender: our JSON body on botocore's signer and connections, error replies as ClientError."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import orjson
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from tenant_pipeline.errors import StoreError
from tenant_pipeline.store.batch_write import BatchWriteSender, client_error, encode_batch_write
from tenant_pipeline.store.tenant_data import TenantDataStore

TABLE = "data"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def _reply(status: int, payload: dict[str, Any]) -> AWSResponse:
    return AWSResponse("http://dynamodb", status, {}, _Raw(orjson.dumps(payload)))  # type: ignore[arg-type]


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_items_written_by_the_sender_read_back_as_written(dynamodb: Any) -> None:
    store = TenantDataStore(TABLE, dynamodb, 1)
    assert store._sender is not None  # a real botocore client takes the fast path
    items = [
        {"pk": {"S": "acme#contacts#0"}, "sk": {"S": f"c-{n}"}, "age": {"N": str(n)}, "ok": {"BOOL": True}}
        for n in range(30)
    ]
    stats = store.put_items(items)
    assert (stats.items, stats.calls) == (30, 2)
    stored = sorted(store.query_entity("acme", "contacts"), key=lambda record: record["age"])
    assert stored == [{"age": Decimal(n), "ok": True} for n in range(30)]


def test_an_error_reply_becomes_the_store_error_botocore_would_give(dynamodb: Any) -> None:
    store = TenantDataStore("missing-table", dynamodb, 1)
    with pytest.raises(StoreError, match="ResourceNotFoundException"):
        store.put_items([{"pk": {"S": "acme#contacts#0"}, "sk": {"S": "c-1"}}])


def test_throttling_and_unprocessed_items_are_retried_by_the_store(dynamodb: Any) -> None:
    replies = [
        _reply(400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}),
        _reply(200, {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": {"sk": {"S": "c-2"}}}}]}}),
        _reply(200, {"UnprocessedItems": {}}),
    ]
    bodies: list[dict[str, Any]] = []

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        bodies.append(orjson.loads(request.body))
        assert request.headers["X-Amz-Target"] == "DynamoDB_20120810.BatchWriteItem"
        assert "Signature=" in request.headers["Authorization"]
        return replies.pop(0)

    dynamodb.meta.events.register_first("before-send.dynamodb.BatchWriteItem", answer)
    store = TenantDataStore(TABLE, dynamodb, 1, sleep=lambda _: None)
    items = [{"pk": {"S": "p"}, "sk": {"S": f"c-{n}"}} for n in (1, 2)]
    stats = store.put_items(items, deadline=None)
    assert (stats.calls, stats.retries) == (3, 2)
    assert [len(body["RequestItems"][TABLE]) for body in bodies] == [2, 2, 1]


def test_server_errors_are_retried_then_raised() -> None:
    calls: list[int] = []

    def send(request: Any) -> AWSResponse:
        calls.append(1)
        return _reply(500, {"__type": "com.amazonaws.dynamodb#InternalServerError", "message": "boom"})

    sender = BatchWriteSender(
        url="http://localhost/",
        sign=lambda operation, request: None,
        emit_until_response=lambda *args, **kwargs: (None, None),
        send=send,
        max_attempts=3,
        sleep=lambda _: None,
    )
    with pytest.raises(ClientError) as raised:
        sender.send(TABLE, [{"PutRequest": {"Item": {"sk": {"S": "x"}}}}])
    assert len(calls) == 3
    assert raised.value.response["Error"] == {"Code": "InternalServerError", "Message": "boom"}


def test_body_and_error_parsing() -> None:
    body = encode_batch_write(
        TABLE, [{"PutRequest": {"Item": {"n": {"N": Decimal("1.5")}, "b": {"B": b"\x01"}}}}]
    )
    assert orjson.loads(body) == {
        "RequestItems": {TABLE: [{"PutRequest": {"Item": {"n": {"N": "1.5"}, "b": {"B": "AQ=="}}}}]}
    }
    assert client_error(502, b"<html>bad gateway</html>").response["Error"]["Code"] == "502"


def test_a_test_double_is_not_given_a_sender() -> None:
    assert BatchWriteSender.for_client(object()) is None
