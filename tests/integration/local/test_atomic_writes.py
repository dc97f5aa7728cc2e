"""The local AWS applies concurrent DynamoDB writes to one item as DynamoDB does: none is lost."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tenantctl.local.clients import local_client
from tenantctl.local.server import LocalServer

WRITERS = 8
ADDS_EACH = 40


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    saved = dict(os.environ)
    server = LocalServer(port=0)
    try:
        yield server.start()
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


def test_concurrent_adds_to_one_item_all_count(endpoint: str) -> None:
    dynamodb = local_client("dynamodb", "us-east-1", endpoint)
    dynamodb.create_table(
        TableName="counters",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )

    def add(_: int) -> None:
        client = local_client("dynamodb", "us-east-1", endpoint)
        for _ in range(ADDS_EACH):
            client.update_item(
                TableName="counters",
                Key={"pk": {"S": "job"}},
                UpdateExpression="ADD done :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(add, range(WRITERS)))
    item = dynamodb.get_item(TableName="counters", Key={"pk": {"S": "job"}}, ConsistentRead=True)["Item"]
    # DynamoDB documents ADD as atomic: every one of the concurrent increments counts
    assert int(item["done"]["N"]) == WRITERS * ADDS_EACH
