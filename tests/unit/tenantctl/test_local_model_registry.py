"""The local AWS keeps only live objects: what moto copies or deletes is freed (counted, not timed)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.sqs.models import Message

from tenantctl.local.clients import local_client
from tenantctl.local.model_registry import WeakInstances, keep_model_instances_weakly

REGION = "us-east-1"
ITEMS = 20
ROUNDS = 30


def _live(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


@pytest.fixture
def weakly_kept() -> Iterator[None]:
    keep_model_instances_weakly()
    with mock_aws():
        yield


def test_queries_and_transactions_leave_only_the_table_and_its_items(weakly_kept: None) -> None:
    dynamodb = local_client("dynamodb", REGION, None)
    dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(ITEMS):
        dynamodb.put_item(
            TableName="jobs", Item={"pk": {"S": "job"}, "sk": {"S": f"b{n:03d}"}, "n": {"N": "0"}}
        )
    for _ in range(ROUNDS):
        # Each Query copies the items it answers; each transaction copies the whole table first.
        assert (
            dynamodb.query(
                TableName="jobs",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "job"}},
            )["Count"]
            == ITEMS
        )
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "jobs",
                        "Key": {"pk": {"S": "job"}, "sk": {"S": "b000"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            ]
        )
    assert _live(Item) == ITEMS
    assert _live(Table) == 1
    assert len(Item.instances_tracked) == ITEMS  # type: ignore[attr-defined]


def test_deleted_messages_are_freed(weakly_kept: None) -> None:
    sqs = local_client("sqs", REGION, None)
    queue_url = sqs.create_queue(QueueName="batches")["QueueUrl"]
    for n in range(ROUNDS):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"batch {n}")
        (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert _live(Message) == 0


def test_a_reset_keeps_the_registry_weak(weakly_kept: None) -> None:
    """moto's reset assigns a new list; the registry that replaces it still holds nothing alive."""
    Item.instances_tracked = []  # type: ignore[attr-defined]
    registry: Any = Item.instances_tracked  # type: ignore[attr-defined]
    assert isinstance(registry, WeakInstances)
    registry.append(Item(None, None, {}))  # type: ignore[arg-type]
    gc.collect()
    assert len(registry) == 0


def test_a_registry_lists_the_live_instances() -> None:
    kept = [Item(None, None, {"n": {"N": str(n)}}) for n in range(3)]  # type: ignore[arg-type]
    registry = WeakInstances(kept)
    registry.append(Item(None, None, {}))  # type: ignore[arg-type]
    gc.collect()
    assert list(registry) == kept
