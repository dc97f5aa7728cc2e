"""Tenant migrations executed by the real state machine on the local AWS (moto runs the ASL)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from functions.import_validate import handler as import_validate
from tenant_pipeline.migration.dispatch import PhaseRunner
from tenant_pipeline.migration.errors import PurgeRefusedError, TransientMigrationError
from tenant_pipeline.migration.purge import purge_copy
from tenant_pipeline.migration.snapshot_store import SnapshotStore
from tenant_pipeline.store.jobs import JobsLedger
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import LEGACY_SHARD_COUNT, NEW_TENANT_SHARD_COUNT, Resource
from tenant_telemetry.metrics import PipelineMetrics
from tenant_telemetry.testing import InMemoryTelemetry
from tenantctl.migrate_command import list_migrations, migration_context, start_migration, wait_for_migration
from tests.integration.migration.conftest import SOURCE, TARGET, Local, seed_tenant

WAIT_S = 120


def test_full_migration_copies_every_item_and_switches_the_directory(
    local: Local, telemetry: InMemoryTelemetry
) -> None:
    # Given a tenant with 34 items in the source region
    tenant_id = seed_tenant(local)
    before = local.items(tenant_id, SOURCE)
    # When it migrates, with chunks small enough for the Map to load several
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=10)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then every item is in the target, equal, and the directory names the target as home
    assert result["status"] == "SUCCEEDED", result
    assert local.items(tenant_id, TARGET) == before
    assert len(before) == 34
    assert result["record_count"] == result["target_record_count"] == 34
    assert result["checksum_match"] is True
    assert result["bytes_transferred"] > 0
    assert set(result["phases"]) == {
        "validate",
        "freeze",
        "snapshot",
        "transfer",
        "load",
        "verify",
        "cutover",
    }
    assert result["phases"]["load"]["chunks"] == 4
    for region in (SOURCE, TARGET):
        tenant = local.directory(region).get(tenant_id)
        assert (tenant.home_region, tenant.status) == (TARGET, TenantStatus.ACTIVE)
        assert tenant.shard_count == NEW_TENANT_SHARD_COUNT  # the copied items are keyed by it
    # the items spread over all 32 shards, not only the first 8
    assert max(int(item["pk"]["S"].rsplit("#", 1)[1]) for item in before) >= LEGACY_SHARD_COUNT
    # the source copy is kept until purged
    assert local.items(tenant_id, SOURCE) == before
    assert result["source_retained"] is True


def test_a_legacy_tenant_migrates_every_item_and_keeps_its_eight_shards(local: Local) -> None:
    # Given a tenant created before shard counts were recorded: 8 shards, its entry silent about them
    tenant_id = seed_tenant(local, legacy=True)
    before = local.items(tenant_id, SOURCE)
    assert {item["pk"]["S"].rsplit("#", 1)[1] for item in before} <= {str(n) for n in range(8)}
    # When it migrates
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=10)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then every item is in the target, and the target's entry records the 8 its items are keyed by
    assert result["status"] == "SUCCEEDED", result
    assert local.items(tenant_id, TARGET) == before
    assert result["record_count"] == result["target_record_count"] == 34
    assert local.directory(TARGET).get(tenant_id).shard_count == LEGACY_SHARD_COUNT


def _history(local: Local, execution_arn: str) -> list[dict[str, Any]]:
    client = local.client("stepfunctions", SOURCE)
    events: list[dict[str, Any]] = client.get_execution_history(executionArn=execution_arn, maxResults=1000)[
        "events"
    ]
    return events


def _tamper_before_verify(local: Local, phases: dict[str, PhaseRunner], tenant_id: str) -> None:
    """Change one field of one target item after the load, just before verification reads it back."""
    verify = phases["verify"]

    def tampered(context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        item = local.items(tenant_id, TARGET)[0]
        item["name" if "name" in item else "currency"] = {"S": "tampered"}
        local.client("dynamodb", TARGET).put_item(
            TableName=local.name(Resource.TENANT_DATA_TABLE, TARGET), Item=item
        )
        return verify(context, event)

    phases["verify"] = tampered


def test_full_migration_is_one_trace_with_every_phase(
    local: Local, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[tuple[str, Any]] = []
    record_bytes, record_check = (
        PipelineMetrics.record_migration_bytes,
        PipelineMetrics.record_integrity_check,
    )

    def spy_bytes(self: PipelineMetrics, count: int, *, tenant_id: str) -> None:
        recorded.append(("bytes", count))
        record_bytes(self, count, tenant_id=tenant_id)

    def spy_check(self: PipelineMetrics, *, tenant_id: str, result: str) -> None:
        recorded.append(("integrity", result))
        record_check(self, tenant_id=tenant_id, result=result)

    monkeypatch.setattr(PipelineMetrics, "record_migration_bytes", spy_bytes)
    monkeypatch.setattr(PipelineMetrics, "record_integrity_check", spy_check)
    tenant_id = seed_tenant(local, contacts=5, orders=3)
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=4)
    result = wait_for_migration(local.target(), started, WAIT_S)
    assert result["status"] == "SUCCEEDED", result
    trace_id = int(result["trace_id"], 16)
    assert result["trace_id"] == started.trace_id  # the caller's trace, carried by the execution input
    spans = [span for span in telemetry.spans() if span.context.trace_id == trace_id]
    root = next(span for span in spans if span.name == "tenant.migration")
    assert (
        dict(root.attributes or {}).items()
        >= {
            "tenant.id": tenant_id,
            "migration.source_region": SOURCE,
            "migration.target_region": TARGET,
            "migration.status": "SUCCEEDED",
            "migration.integrity_check": "passed",
        }.items()
    )
    phase_spans = [span for span in spans if span.name.startswith("migration.") and span.name.count(".") == 1]
    names = {span.name for span in phase_spans}
    assert names >= {
        f"migration.{p}" for p in ("validate", "freeze", "snapshot", "transfer", "load", "verify", "cutover")
    }
    assert all(
        span.parent is not None and span.parent.span_id == root.context.span_id for span in phase_spans
    )
    # snapshot, transfer and verify ran in legs, each leg a span under its phase's
    for phase in ("snapshot", "transfer", "verify"):
        (phase_span,) = [span for span in phase_spans if span.name == f"migration.{phase}"]
        legs = [span for span in spans if span.name == f"migration.{phase}.leg"]
        assert legs
        assert all(
            leg.parent is not None and leg.parent.span_id == phase_span.context.span_id for leg in legs
        )
    assert len([span for span in phase_spans if span.name == "migration.load"]) == 2
    # every invocation of the migration function, the first (validate) included, joined the caller's trace
    invocations = [span for span in telemetry.spans() if span.name == "migration"]
    assert len(invocations) >= 8
    assert {span.context.trace_id for span in invocations} == {trace_id}
    # each invocation flushes its delta, so the last one (cutover) holds the duration
    duration = telemetry.metrics()["migration.duration"].data.data_points
    assert [dict(point.attributes or {}) for point in duration] == [
        {"tenant.id": tenant_id, "migration.status": "SUCCEEDED"}
    ]
    assert recorded == [("bytes", result["bytes_transferred"]), ("integrity", "passed")]


def test_tampered_target_is_rolled_back_and_the_tenant_stays_in_the_source(
    local: Local, phases: dict[str, PhaseRunner], telemetry: InMemoryTelemetry
) -> None:
    # Given a tenant, and a target item changed after the load
    tenant_id = seed_tenant(local, contacts=7, orders=2)
    before = local.items(tenant_id, SOURCE)
    _tamper_before_verify(local, phases, tenant_id)
    # When it migrates
    started = start_migration(local.target(), tenant_id, TARGET)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then there is no cutover: rolled back, the target emptied, the tenant active in the source
    assert result["status"] == "ROLLED_BACK", result
    assert result["checksum_match"] is False
    assert "IntegrityCheckFailed" in result["error"]
    assert "cutover" not in result["phases"]
    assert local.items(tenant_id, TARGET) == []
    assert local.items(tenant_id, SOURCE) == before
    tenant = local.directory(SOURCE).get(tenant_id)
    assert (tenant.home_region, tenant.status) == (SOURCE, TenantStatus.ACTIVE)
    execution = local.client("stepfunctions", SOURCE).describe_execution(executionArn=started.execution_arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "MigrationRolledBack"
    root = next(span for span in telemetry.spans() if span.name == "tenant.migration")
    assert (root.attributes or {})["migration.status"] == "ROLLED_BACK"
    assert (root.attributes or {})["migration.integrity_check"] == "failed"


def test_a_phase_failing_once_succeeds_on_retry(local: Local, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given S3 answering SlowDown to the first copy of the transfer (the adapter maps it to a transient error)
    tenant_id = seed_tenant(local, contacts=4, orders=1)
    copy_from = SnapshotStore.copy_from
    failures: list[str] = []

    def flaky(self: SnapshotStore, source_bucket: str, key: str) -> None:
        if not failures:
            failures.append(key)
            raise TransientMigrationError(f"copy {key}: SlowDown")
        copy_from(self, source_bucket, key)

    monkeypatch.setattr(SnapshotStore, "copy_from", flaky)
    # When the tenant migrates
    started = start_migration(local.target(), tenant_id, TARGET)
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then the state machine retried the transfer, which then completed, and the migration succeeded
    assert result["status"] == "SUCCEEDED", result
    assert len(failures) == 1
    assert result["phases"]["transfer"]["attempts"] == 2
    failed = [e for e in _history(local, started.execution_arn) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["TransientMigrationError"]
    assert local.items(tenant_id, TARGET) == local.items(tenant_id, SOURCE)


def test_an_import_arriving_during_the_migration_is_refused(
    local: Local, phases: dict[str, PhaseRunner]
) -> None:
    tenant_id = seed_tenant(local, contacts=3, orders=0)
    bucket = local.name(Resource.INGEST_BUCKET, SOURCE)
    key = f"tenants/{tenant_id}/imports/contacts/late.csv"
    # The validator module caches its clients per cold start: one built against a local AWS that an
    # earlier test of this process started (and stopped) must not be reused here.
    import_validate.dependencies.reset()
    snapshot = phases["snapshot"]
    refused: list[Mapping[str, Any]] = []

    def with_import(context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        # While the tenant is frozen, a file lands in its import prefix and the validator sees it.
        body = b"id,email,name\nlate1,late@example.com,Late\n"
        reply = local.client("s3", SOURCE).put_object(Bucket=bucket, Key=key, Body=body)
        notification = {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": bucket},
                        "object": {"key": key, "size": len(body), "eTag": reply["ETag"].strip('"')},
                    },
                }
            ]
        }
        refused.extend(import_validate.lambda_handler(notification, FakeContext())["results"])
        return snapshot(context, event)

    phases["snapshot"] = with_import
    started = start_migration(local.target(), tenant_id, TARGET)
    result = wait_for_migration(local.target(), started, WAIT_S)
    assert result["status"] == "SUCCEEDED", result
    assert len(refused) == 1
    assert "migrating" in str(refused[0]["reason"])
    job = JobsLedger(local.name(Resource.JOBS_TABLE, SOURCE), local.client("dynamodb", SOURCE)).get(
        refused[0]["job_id"]
    )
    assert job.status.value == "FAILED"
    assert "migrating" in str(job.error)
    # nothing of the refused file reached either table
    assert all(
        item["sk"]["S"] != "late1" for region in (SOURCE, TARGET) for item in local.items(tenant_id, region)
    )
    assert len(local.items(tenant_id, TARGET)) == 3


def test_a_failed_migration_can_be_run_again(local: Local, phases: dict[str, PhaseRunner]) -> None:
    tenant_id = seed_tenant(local, contacts=6, orders=6)
    original_verify = phases["verify"]
    _tamper_before_verify(local, phases, tenant_id)
    first = wait_for_migration(local.target(), start_migration(local.target(), tenant_id, TARGET), WAIT_S)
    assert first["status"] == "ROLLED_BACK"
    phases["verify"] = original_verify
    second = wait_for_migration(local.target(), start_migration(local.target(), tenant_id, TARGET), WAIT_S)
    assert second["status"] == "SUCCEEDED", second
    assert local.items(tenant_id, TARGET) == local.items(tenant_id, SOURCE)
    history = list_migrations(local.target(), tenant_id)
    assert [entry["status"] for entry in history] == ["SUCCEEDED", "ROLLED_BACK"]


def test_purge_source_removes_the_kept_copy_only(local: Local) -> None:
    tenant_id = seed_tenant(local, contacts=3, orders=2)
    result = wait_for_migration(local.target(), start_migration(local.target(), tenant_id, TARGET), WAIT_S)
    assert result["status"] == "SUCCEEDED"
    context = migration_context(local.target(TARGET), TARGET)
    with pytest.raises(PurgeRefusedError, match="home region"):
        purge_copy(context, tenant_id, TARGET)
    purged = purge_copy(context, tenant_id, SOURCE)
    assert purged.deleted_items == 5
    assert local.items(tenant_id, SOURCE) == []
    assert len(local.items(tenant_id, TARGET)) == 5
    record = list_migrations(local.target(), tenant_id)[0]
    assert record["source_retained"] is False
    assert record["source_purged_at"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"target_region": TARGET}, "no tenant_id"),
        ({"tenant_id": "nobody-here", "target_region": TARGET}, "not in the tenant directory"),
        ({"tenant_id": "{tenant}", "target_region": SOURCE}, "already lives in us-east-1"),
        ({"tenant_id": "{tenant}", "target_region": "ap-south-1"}, "ap-south-1 is not configured"),
    ],
)
def test_a_bad_input_fails_the_execution_before_anything_is_frozen(
    local: Local, document: dict[str, Any], reason: str
) -> None:
    tenant_id = seed_tenant(local, contacts=1, orders=0)
    document = {k: v.format(tenant=tenant_id) for k, v in document.items()}
    client = local.client("stepfunctions", SOURCE)
    arn = local.name(Resource.MIGRATION_STATE_MACHINE, SOURCE)
    name = f"bad-{tenant_id}"
    execution_arn = client.start_execution(stateMachineArn=arn, name=name, input=json.dumps(document))[
        "executionArn"
    ]
    execution = _finished(local, execution_arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "InvalidMigrationRequestError"
    assert reason in execution["cause"]
    assert local.directory(SOURCE).get(tenant_id).status is TenantStatus.ACTIVE
    entered = [e for e in _history(local, execution_arn) if e["type"] == "TaskStateEntered"]
    assert [e["stateEnteredEventDetails"]["name"] for e in entered] == ["ValidateRequest"]


def test_an_execution_started_without_trace_gets_one_from_its_first_task(
    local: Local, telemetry: InMemoryTelemetry
) -> None:
    tenant_id = seed_tenant(local, contacts=2, orders=1)
    client = local.client("stepfunctions", SOURCE)
    arn = local.name(Resource.MIGRATION_STATE_MACHINE, SOURCE)
    document = {"tenant_id": tenant_id, "target_region": TARGET}
    execution_arn = client.start_execution(
        stateMachineArn=arn, name=f"cli-{tenant_id}", input=json.dumps(document)
    )["executionArn"]
    assert _finished(local, execution_arn)["status"] == "SUCCEEDED"
    record = list_migrations(local.target(), tenant_id)[0]
    assert record["execution_arn"] == execution_arn
    root = next(span for span in telemetry.spans() if span.name == "tenant.migration")
    assert f"{root.context.trace_id:032x}" == record["trace_id"]
    assert root.parent is None
    in_trace = {span.name for span in telemetry.spans() if span.context.trace_id == root.context.trace_id}
    assert {"migration.snapshot", "migration.verify", "migration.cutover"} <= in_trace


def _finished(local: Local, execution_arn: str) -> dict[str, Any]:
    client = local.client("stepfunctions", SOURCE)
    deadline = time.monotonic() + WAIT_S
    while True:
        execution: dict[str, Any] = client.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(0.2)


@dataclass
class FakeContext:
    function_name: str = "import-validate"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:import-validate"
    aws_request_id: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000
