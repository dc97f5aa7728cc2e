"""The local Query that reads one partition answers exactly as moto's own Query does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from tenantctl.local.clients import local_client
from tenantctl.local.partition_query import partition_queries

REGION = "us-east-1"
RANGE_TABLE = "records"
HASH_ONLY_TABLE = "directory"
PARTITIONS = ("acme#contacts#0", "acme#contacts#1", "globex#contacts#0")


def _items() -> list[dict[str, Any]]:
    items = []
    for partition in PARTITIONS:
        for n in range(23):
            item: dict[str, Any] = {
                "pk": {"S": partition},
                "sk": {"S": f"c{n:03d}"},
                "age": {"N": str(n * 7 % 50)},
                "name": {"S": f"Person {n} " + "x" * (n % 5)},
            }
            if n % 4:
                item["email"] = {"S": f"p{n}@example.com"}
            items.append(item)
    return items


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = local_client("dynamodb", REGION, None)
        client.create_table(
            TableName=RANGE_TABLE,
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
        client.create_table(
            TableName=HASH_ONLY_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for item in _items():
            client.put_item(TableName=RANGE_TABLE, Item=item)
        for partition in PARTITIONS:
            client.put_item(
                TableName=HASH_ONLY_TABLE, Item={"pk": {"S": partition}, "home": {"S": "us-east-1"}}
            )
        yield client


def _range_query(partition: str, **extra: Any) -> dict[str, Any]:
    values = {":pk": {"S": partition}, **extra.pop("values", {})}
    condition = "pk = :pk" + extra.pop("range_condition", "")
    return {
        "TableName": RANGE_TABLE,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        **extra,
    }


QUERIES = {
    "whole partition": _range_query("acme#contacts#1"),
    "partition with no items": _range_query("initech#contacts#0"),
    "begins_with": _range_query(
        "acme#contacts#0", range_condition=" AND begins_with(sk, :p)", values={":p": {"S": "c01"}}
    ),
    "between": _range_query(
        "globex#contacts#0",
        range_condition=" AND sk BETWEEN :a AND :b",
        values={":a": {"S": "c005"}, ":b": {"S": "c015"}},
    ),
    "less than, backwards": _range_query(
        "acme#contacts#0",
        range_condition=" AND sk < :s",
        values={":s": {"S": "c010"}},
        ScanIndexForward=False,
    ),
    "filter and projection": _range_query(
        "acme#contacts#1",
        FilterExpression="age >= :min AND attribute_exists(email)",
        ProjectionExpression="sk, #n",
        ExpressionAttributeNames={"#n": "name"},
        values={":min": {"N": "20"}},
    ),
    "count": _range_query("acme#contacts#0", Select="COUNT"),
    "limit": _range_query("acme#contacts#0", Limit=5),
    "limit with a filter": _range_query(
        "acme#contacts#0", Limit=6, FilterExpression="attribute_not_exists(email)"
    ),
    "start key, backwards": _range_query(
        "globex#contacts#0",
        Limit=4,
        ScanIndexForward=False,
        ExclusiveStartKey={"pk": {"S": "globex#contacts#0"}, "sk": {"S": "c012"}},
    ),
    "hash-only table": {
        "TableName": HASH_ONLY_TABLE,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "acme#contacts#1"}},
    },
}


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page, following LastEvaluatedKey, without the per-request metadata."""
    pages = []
    kwargs = dict(request)
    while True:
        page = {key: value for key, value in client.query(**kwargs).items() if key != "ResponseMetadata"}
        pages.append(page)
        if "LastEvaluatedKey" not in page or len(pages) > 100:
            return pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_partition_query_answers_as_moto_does(dynamodb: Any, name: str) -> None:
    expected = _pages(dynamodb, QUERIES[name])
    with partition_queries():
        assert _pages(dynamodb, QUERIES[name]) == expected
    assert expected[0].get("Count", 0) or name == "partition with no items"


def test_query_reads_only_the_queried_partition(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work of a Query is the partition's items, not the table's (a count, not a time)."""
    seen: list[int] = []
    moto_all_items = Table.all_items

    def counting_all_items(self: Table) -> Any:
        items = moto_all_items(self)
        seen.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting_all_items)
    with partition_queries():
        dynamodb.query(**QUERIES["whole partition"])
    dynamodb.query(**QUERIES["whole partition"])
    assert seen == [23, 23 * len(PARTITIONS)]


def test_moto_query_is_restored_when_the_last_user_leaves() -> None:
    moto_query = Table.query
    with partition_queries():
        with partition_queries():
            pass
        assert Table.query is not moto_query
    assert Table.query is moto_query
