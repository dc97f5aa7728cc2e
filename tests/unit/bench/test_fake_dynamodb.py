"""The benchmark's do-nothing DynamoDB endpoint answers boto3 as DynamoDB would, and counts what it got."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.harness.fake_dynamodb import FakeDynamoDB, fake_dynamodb, item_digest


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FakeDynamoDB]:
    with fake_dynamodb() as server:
        yield server


def _resource(endpoint: FakeDynamoDB) -> Any:
    return boto3.resource(
        "dynamodb",
        endpoint_url=endpoint.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_batch_writer_items_are_counted_and_captured(endpoint: FakeDynamoDB) -> None:
    # Given a reset endpoint that captures items
    endpoint.reset(capture=True)
    table = _resource(endpoint).Table("data")
    # When boto3's batch writer puts 60 items (three BatchWriteItem calls of at most 25)
    with table.batch_writer() as writer:
        for index in range(60):
            writer.put_item(Item={"pk": "t#c#0", "sk": f"id-{index}", "age": index})
    # Then every item arrived, in DynamoDB's typed form
    stats = endpoint.stats()
    assert stats["operations"] == {"BatchWriteItem": 3}
    assert stats["items_by_table"] == {"data": 60}
    captured = endpoint.items()
    assert {"pk": {"S": "t#c#0"}, "sk": {"S": "id-7"}, "age": {"N": "7"}} in captured


def test_describe_table_reports_an_active_pk_sk_table(endpoint: FakeDynamoDB) -> None:
    table = _resource(endpoint).Table("data")
    assert table.table_status == "ACTIVE"
    assert [key["AttributeName"] for key in table.key_schema] == ["pk", "sk"]


def test_unsupported_operation_is_a_client_error(endpoint: FakeDynamoDB) -> None:
    client = _resource(endpoint).meta.client
    with pytest.raises(ClientError) as raised:
        client.list_backups()
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"


def test_digest_is_equal_for_the_same_items_in_any_order(endpoint: FakeDynamoDB) -> None:
    client = _resource(endpoint).meta.client
    items = [{"pk": {"S": "p"}, "sk": {"S": str(index)}, "n": {"N": str(index)}} for index in range(30)]
    digests = []
    for ordered in (items, list(reversed(items))):
        endpoint.reset()
        for start in range(0, 30, 15):
            client.batch_write_item(
                RequestItems={"data": [{"PutRequest": {"Item": i}} for i in ordered[start : start + 15]]}
            )
        digests.append(endpoint.stats()["digest"])
    assert digests[0] == digests[1]
    # and a single changed value changes the digest
    assert item_digest(items[0]) != item_digest({**items[0], "n": {"N": "99"}})


def test_otlp_exports_are_accepted(endpoint: FakeDynamoDB) -> None:
    import urllib.request

    endpoint.reset()
    request = urllib.request.Request(endpoint.endpoint_url + "/v1/traces", data=b"\x00", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert endpoint.stats()["otlp_requests"] == 1
