"""Snapshot, transfer and verify in legs, on the real state machine: a tiny leg budget makes every phase
a loop of many invocations, each handing the next a small cursor."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.dispatch import PhaseRunner
from tenant_pipeline.migration.errors import MigrationStoreError, TransientMigrationError
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Resource
from tenant_telemetry.testing import InMemoryTelemetry
from tenantctl.migrate_command import find_migration, start_migration, wait_for_migration
from tenantctl.migration_explanation import explain_migration
from tests.integration.migration.conftest import SOURCE, TARGET, Local, seed_tenant

WAIT_S = 180
PAYLOAD_LIMIT_BYTES = 256 * 1024
"""Step Functions' quota on a state's input or output (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)."""
LEGGED = ("snapshot", "transfer", "verify")


def _tiny_legs(phases: dict[str, PhaseRunner], steps: int) -> None:
    """Cap every leg of snapshot, transfer and verify at `steps` steps (chunks, copies, pages)."""
    for name in LEGGED:
        runner = phases[name]

        def capped(context: MigrationContext, event: Mapping[str, Any], runner: PhaseRunner = runner) -> Any:
            settings = replace(context.settings, migration_leg_steps=steps)
            return runner(replace(context, settings=settings), event)

        phases[name] = capped


def _history(local: Local, execution_arn: str) -> list[dict[str, Any]]:
    paginator = local.client("stepfunctions", SOURCE).get_paginator("get_execution_history")
    return [event for page in paginator.paginate(executionArn=execution_arn) for event in page["events"]]


def _payloads(event: dict[str, Any]) -> list[str]:
    return [
        value
        for name, details in event.items()
        if name.endswith("EventDetails") and isinstance(details, dict)
        for key, value in details.items()
        if key in ("input", "output", "parameters") and isinstance(value, str)
    ]


def _expected_checksum(items: list[dict[str, Any]]) -> str:
    """The documented checksum, computed with json and hashlib alone: the sum modulo 2**256 of the SHA-256 of
    each item's canonical JSON (sorted keys, no whitespace); the seeded items hold no binary or set."""
    total = sum(
        int.from_bytes(
            hashlib.sha256(
                json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            ).digest(),
            "big",
        )
        for item in items
    )
    return f"{total % 2**256:064x}"


def _task_seconds(events: list[dict[str, Any]], state: str) -> float:
    """Time Step Functions spent in all of a task state's visits (entered to exited)."""
    entered: datetime | None = None
    total = 0.0
    for event in events:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        if details.get("name") != state:
            continue
        if event["type"].endswith("StateEntered"):
            entered = event["timestamp"]
        elif entered is not None:
            total += (event["timestamp"] - entered).total_seconds()
    return total


def test_a_tiny_leg_budget_still_migrates_every_item_exactly(
    local: Local, phases: dict[str, PhaseRunner], telemetry: InMemoryTelemetry
) -> None:
    # Given a tenant of 34 items in 17 chunks, and legs of at most 3 steps
    tenant_id = seed_tenant(local)
    before = local.items(tenant_id, SOURCE)
    _tiny_legs(phases, steps=3)
    # When it migrates
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=2)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then every item arrived, with the count and checksum an independent computation gives
    assert result["status"] == "SUCCEEDED", result
    assert local.items(tenant_id, TARGET) == before
    assert result["record_count"] == result["target_record_count"] == len(before) == 34
    assert result["checksum"] == result["target_checksum"] == _expected_checksum(before)
    assert result["phases"]["load"]["chunks"] == 17
    # through many legs per phase: 17 chunks written and copied 3 at a time, 64 partitions read 3 pages a time
    legs = {name: result["phases"][name]["legs"] for name in LEGGED}
    assert legs == {"snapshot": 6, "transfer": 6, "verify": 22}
    events = _history(local, started.execution_arn)
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert {name: entered.count(name.title()) for name in LEGGED} == legs
    # and no state's input or output came near the payload quota: cursors, never lists
    assert max(len(text.encode()) for event in events for text in _payloads(event)) < 16 * 1024
    # and the explanation still adds up to the wall time, each phase no longer than its task states took
    found = find_migration(local.target(), started.migration_id)
    assert found is not None
    record, region = found
    _, chunks = local.target().ledger(region).timings(started.migration_id)
    explanation = explain_migration(record, chunks, now_ns=time.time_ns())
    execution = local.client("stepfunctions", SOURCE).describe_execution(executionArn=started.execution_arn)
    wall = (execution["stopDate"] - execution["startDate"]).total_seconds()
    seconds = {phase.name: phase.seconds for phase in explanation.phases}
    assert abs(sum(seconds.values()) - wall) <= 0.05 * wall
    for name in LEGGED:
        assert 0 < seconds[name] <= _task_seconds(events, name.title()) + 0.01, name
    # and each leg is a span under its phase's; snapshot's and verify's read through Query children
    spans = [span for span in telemetry.spans() if span.context.trace_id == int(result["trace_id"], 16)]
    for name in LEGGED:
        (phase,) = [span for span in spans if span.name == f"migration.{name}"]
        legs_of = [span for span in spans if span.parent and span.parent.span_id == phase.context.span_id]
        assert len(legs_of) == legs[name]
        assert {span.name for span in legs_of} == {f"migration.{name}.leg"}
        if name == "transfer":
            continue
        leg_ids = {span.context.span_id for span in legs_of}
        queries = [span for span in spans if span.parent and span.parent.span_id in leg_ids]
        assert all(dict(span.attributes or {})["db.operation.name"] == "Query" for span in queries)
        assert {dict(span.attributes or {})["db.system.name"] for span in queries} == {"aws.dynamodb"}
        assert sum(int(dict(span.attributes or {})["migration.records"]) for span in queries) == 34


def test_a_failure_in_a_middle_leg_rolls_back(local: Local, phases: dict[str, PhaseRunner]) -> None:
    # Given a tenant, and verification failing for good in its third leg, after the load wrote the target
    tenant_id = seed_tenant(local, contacts=10, orders=4)
    before = local.items(tenant_id, SOURCE)
    _tiny_legs(phases, steps=8)
    verify = phases["verify"]

    def denied() -> list[str]:
        raise MigrationStoreError("query tenant-data: AccessDenied")

    def failing(context: MigrationContext, event: Mapping[str, Any]) -> Any:
        if event["cursor"].get("progress", {}).get("leg") == 2:
            context = replace(context, entities=denied)  # the leg's first read of the target fails
        return verify(context, event)

    phases["verify"] = failing
    # When it migrates
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=5)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then it rolled back: the target emptied, the tenant active in the source with its items
    assert result["status"] == "ROLLED_BACK", result
    assert "AccessDenied" in result["error"]
    assert result["phases"]["verify"]["status"] == "failed"
    assert result["phases"]["verify"]["legs"] == 3
    assert local.items(tenant_id, TARGET) == []
    assert local.items(tenant_id, SOURCE) == before
    tenant = local.directory(SOURCE).get(tenant_id)
    assert (tenant.home_region, tenant.status) == (SOURCE, TenantStatus.ACTIVE)


def test_a_retried_leg_writes_the_same_chunks(local: Local, phases: dict[str, PhaseRunner]) -> None:
    # Given a snapshot whose second leg fails after writing its chunks (the state machine retries it)
    tenant_id = seed_tenant(local, contacts=12, orders=6)
    _tiny_legs(phases, steps=2)
    snapshot = phases["snapshot"]
    bucket = local.name(Resource.SNAPSHOT_BUCKET, SOURCE)
    s3 = local.client("s3", SOURCE)
    written: list[dict[str, bytes]] = []

    def objects() -> dict[str, bytes]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"migrations/{tenant_id}/")
        return {
            o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed["Contents"]
        }

    def flaky(context: MigrationContext, event: Mapping[str, Any]) -> Any:
        reply = snapshot(context, event)
        if event["cursor"].get("progress", {}).get("leg") == 1:
            written.append(objects())
            if len(written) == 1:
                raise TransientMigrationError("put chunk: SlowDown")
        return reply

    phases["snapshot"] = flaky
    # When it migrates
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=3)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then the leg ran twice from the same cursor and left exactly the same objects, byte for byte
    assert result["status"] == "SUCCEEDED", result
    first, retried = written
    assert first == retried
    assert sorted(key.rsplit("/", 2)[-2] for key in first) == ["chunks"] * 4 + ["legs"] * 2
    assert result["phases"]["snapshot"]["attempts"] == result["phases"]["snapshot"]["legs"] + 1
    failed = [e for e in _history(local, started.execution_arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["TransientMigrationError"]
    assert result["record_count"] == result["target_record_count"] == 18
