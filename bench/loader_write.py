"""`loader_cpu_per_item_vs_batch_writer`: our loader's write path vs boto3's `Table.batch_writer()`.

Measures client CPU per stored item (process CPU of a child that runs only that writer) for the same
rows, written to the same do-nothing DynamoDB-compatible endpoint on loopback, which runs in its own
process so none of its CPU is counted. Ours: rows (lists in schema column order, as batch messages
carry them) → `AttributePlan.items` → `TenantDataStore.put_items` on the client `AwsClients` builds.
Baseline: the same rows → plain dicts with the same keys → `Table.batch_writer().put_item` (boto3's
type serialiser, parameter validation, 25-item batching). The endpoint's item count and
order-independent digest of the typed items must be equal for both sides before the ratio is taken.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bench.harness import datasets
from bench.harness.cpu import cpu_time
from bench.harness.fake_dynamodb import fake_dynamodb
from bench.harness.rss import run_in_child

TABLE = "tenant-data"
TENANT = "bench-loader"
ENTITY = "contacts"
WARM_UP_ROWS = 50


class WritersDisagreeError(AssertionError):
    """The two writers did not send the same items."""


def loader_rows(count: int) -> list[list[Any]]:
    """Valid contacts rows as the validator hands them on: normalised, typed, `None` when missing."""
    rows = []
    for index in range(count):
        if datasets.is_invalid(index):
            continue
        cells = datasets.contact(index)
        rows.append(
            [
                cells["id"],
                cells["email"].strip().lower(),
                cells["name"],
                int(cells["age"]) if cells["age"] else None,
                cells["created_at"][:19] + "Z",
                cells["country"] or None,
                cells["notes"] or None,
            ]
        )
    return rows


def _split(rows: list[list[Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    return rows[:WARM_UP_ROWS], rows[WARM_UP_ROWS:]


def run_ours(rows: int) -> dict[str, Any]:
    """Child: our write path; CPU of the measured part only (client, models and connection warmed)."""
    from tenant_pipeline.aws import AwsClients
    from tenant_pipeline.imports.items import AttributePlan
    from tenant_pipeline.store.tenant_data import TenantDataStore
    from tenant_pipeline.topology import NEW_TENANT_SHARD_COUNT

    warm, measured = _split(loader_rows(rows))
    plan = AttributePlan(
        columns=datasets.COLUMNS, kinds=("S", "S", "S", "N", "S", "S", "S"), primary_key="id"
    )
    store = TenantDataStore(TABLE, AwsClients(region="us-east-1").dynamodb)
    store.put_items(plan.items(TENANT, ENTITY, warm, NEW_TENANT_SHARD_COUNT))
    with cpu_time() as cpu:
        stats = store.put_items(plan.items(TENANT, ENTITY, measured, NEW_TENANT_SHARD_COUNT))
    return {"items": len(measured), "cpu_s": cpu.process_s, "calls": stats.calls}


def run_batch_writer(rows: int) -> dict[str, Any]:
    """Child: boto3's batch writer on the same rows, as plain dicts with the same keys and values."""
    import boto3

    from tenant_pipeline.store.keys import record_pk
    from tenant_pipeline.topology import NEW_TENANT_SHARD_COUNT

    warm, measured = _split(loader_rows(rows))
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)

    def write(batch: list[list[Any]]) -> None:
        with table.batch_writer() as writer:
            for row in batch:
                pairs = zip(datasets.COLUMNS, row, strict=True)
                item: dict[str, Any] = {name: value for name, value in pairs if value is not None}
                if "age" in item:
                    item["age"] = Decimal(item["age"])
                item["pk"] = record_pk(TENANT, ENTITY, item["id"], NEW_TENANT_SHARD_COUNT)
                item["sk"] = item["id"]
                writer.put_item(Item=item)

    write(warm)
    with cpu_time() as cpu:
        write(measured)
    return {"items": len(measured), "cpu_s": cpu.process_s}


def compare(rows: int) -> dict[str, Any]:
    with fake_dynamodb() as endpoint:
        env = {
            "AWS_ENDPOINT_URL": endpoint.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        endpoint.reset()
        ours = run_in_child("bench.loader_write:run_ours", {"rows": rows}, env=env).value
        ours_sent = endpoint.stats()
        endpoint.reset()
        theirs = run_in_child("bench.loader_write:run_batch_writer", {"rows": rows}, env=env).value
        theirs_sent = endpoint.stats()
    if (ours_sent["items"], ours_sent["digest"]) != (theirs_sent["items"], theirs_sent["digest"]):
        raise WritersDisagreeError(
            f"loader sent {ours_sent['items']} items (digest {ours_sent['digest']}), batch_writer sent "
            f"{theirs_sent['items']} (digest {theirs_sent['digest']})"
        )
    ours_per_item = ours["cpu_s"] / ours["items"]
    theirs_per_item = theirs["cpu_s"] / theirs["items"]
    return {
        "items": ours["items"],
        "loader_cpu_us_per_item": ours_per_item * 1e6,
        "batch_writer_cpu_us_per_item": theirs_per_item * 1e6,
        "loader_cpu_per_item_vs_batch_writer": ours_per_item / theirs_per_item,
        "batch_write_calls": ours_sent["operations"].get("BatchWriteItem", 0),
    }
