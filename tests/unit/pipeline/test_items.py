"""Typed attribute maps built straight from validated rows."""

from __future__ import annotations

import binascii
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tenant_pipeline.imports.items import AttributePlan, column_kind, to_attribute
from tenant_pipeline.store.keys import record_pk, shard_of

PROPERTIES: dict[str, dict[str, Any]] = {
    "id": {"type": "string"},
    "age": {"type": "integer"},
    "amount": {"type": ["number", "null"]},
    "vip": {"type": "boolean"},
    "tags": {"type": "array"},
}


def test_column_kinds_come_from_the_schema_types() -> None:
    assert [column_kind(PROPERTIES[name]) for name in PROPERTIES] == ["S", "N", "N", "BOOL", "ANY"]
    assert column_kind({}) == "S"


def test_items_carry_sharded_keys_and_typed_values_and_skip_missing_ones() -> None:
    plan = AttributePlan.from_schema(tuple(PROPERTIES), PROPERTIES, "id")
    items = plan.items(
        "acme", "contacts", [["c-1", 36, "10.50", True, ["a", 1]], ["c-2", None, 3, None, None]], 8
    )
    assert items[0] == {
        "pk": {"S": record_pk("acme", "contacts", "c-1", 8)},
        "sk": {"S": "c-1"},
        "id": {"S": "c-1"},
        "age": {"N": "36"},
        "amount": {"N": "10.50"},
        "vip": {"BOOL": True},
        "tags": {"L": [{"S": "a"}, {"N": "1"}]},
    }
    assert items[1] == {
        "pk": {"S": f"acme#contacts#{shard_of('c-2', 8)}"},
        "sk": {"S": "c-2"},
        "id": {"S": "c-2"},
        "amount": {"N": "3"},
    }


def test_a_repeated_id_in_one_batch_keeps_one_item() -> None:
    plan = AttributePlan.from_schema(("id", "age"), PROPERTIES, "id")
    items = plan.items("acme", "contacts", [["c-1", 1], ["c-1", 2]], 8)
    assert [item["age"] for item in items] == [{"N": "2"}]


def test_the_shard_is_stable_and_within_range() -> None:
    assert shard_of("c-1", 8) == shard_of("c-1", 8)
    assert {shard_of(f"id-{n}", 8) for n in range(200)} == set(range(8))


@pytest.mark.parametrize("shards", [8, 32])
def test_an_id_maps_to_the_same_shard_of_its_tenants_count_in_every_batch(shards: int) -> None:
    # The loader keys rows by the count its batch carries: CRC-32 of the id modulo it, in any batch
    plan = AttributePlan.from_schema(("id", "age"), PROPERTIES, "id")
    ids = [f"c-{n}" for n in range(500)]
    first = plan.items("acme", "contacts", [[record_id, 1] for record_id in ids], shards)
    again = plan.items("acme", "contacts", [[record_id, 2] for record_id in reversed(ids)], shards)
    expected = {
        record_id: f"acme#contacts#{binascii.crc32(record_id.encode()) % shards}" for record_id in ids
    }
    assert {item["sk"]["S"]: item["pk"]["S"] for item in first} == expected
    assert {item["sk"]["S"]: item["pk"]["S"] for item in again} == expected
    assert {pk.rsplit("#", 1)[1] for pk in expected.values()} == {str(n) for n in range(shards)}


def test_nested_values_round_trip_through_the_boto3_deserializer() -> None:
    value = {"a": [1, "x", None, {"b": Decimal("1.5")}], "c": False}
    assert TypeDeserializer().deserialize(to_attribute(value)) == {  # type: ignore[arg-type]
        "a": [Decimal(1), "x", None, {"b": Decimal("1.5")}],
        "c": False,
    }
