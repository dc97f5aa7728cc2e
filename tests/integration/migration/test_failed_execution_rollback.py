"""Failures no Catch can take end the execution without its Rollback state: the execution's status
change (EventBridge deployed, the local AWS's watcher here) rolls the migration back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from tenant_pipeline.migration.dispatch import PhaseRunner, run_phase
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Resource
from tenantctl.migrate_command import migration_context, start_migration
from tests.integration.migration.conftest import SOURCE, TARGET, Local, seed_tenant

WAIT_S = 60


def _status_change(name: str, tenant_id: str, status: str, error: str, cause: str) -> dict[str, Any]:
    """The event AWS documents for "Step Functions Execution Status Change" (EventBridge)."""
    machine = f"arn:aws:states:{SOURCE}:123456789012:stateMachine:tenant-pipelines-migration"
    arn = f"arn:aws:states:{SOURCE}:123456789012:execution:tenant-pipelines-migration:{name}"
    return {
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-12-06T03:00:00Z",
        "region": SOURCE,
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": machine,
            "name": name,
            "status": status,
            "startDate": 1764990000000,
            "stopDate": 1764990060000,
            "input": json.dumps({"tenant_id": tenant_id, "target_region": TARGET}),
            "output": None,
            "error": error,
            "cause": cause,
        },
    }


def _wait_for_record(local: Local, tenant_id: str, migration_id: str) -> Any:
    context = migration_context(local.target(), SOURCE)
    deadline = time.monotonic() + WAIT_S
    while True:
        record = context.ledger().get(tenant_id, migration_id)
        if record.status is not MigrationStatus.RUNNING or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def test_a_data_limit_failure_rolls_back_a_migration_left_migrating(local: Local) -> None:
    # Given a migration that froze the tenant and loaded part of it, then ended without its Rollback state
    tenant_id = seed_tenant(local, contacts=6, orders=2)
    before = local.items(tenant_id, SOURCE)
    context = migration_context(local.target(), SOURCE)
    name = f"{tenant_id}-limit"
    execution = {"id": f"arn:aws:states:{SOURCE}:123456789012:execution:m:{name}", "name": name}
    opened = run_phase(
        context,
        {
            "phase": "validate",
            "input": {"tenant_id": tenant_id, "target_region": TARGET},
            "execution": execution,
        },
    )
    run_phase(context, {"phase": "freeze", **opened})
    local.client("dynamodb", TARGET).put_item(
        TableName=local.name(Resource.TENANT_DATA_TABLE, TARGET), Item=before[0]
    )
    assert local.directory(SOURCE).get(tenant_id).status is TenantStatus.MIGRATING
    # When the execution's FAILED status change arrives (a state's output exceeded 256 KB)
    event = _status_change(
        name,
        tenant_id,
        "FAILED",
        "States.DataLimitExceeded",
        "The state/task returned a result exceeding 256 KB",
    )
    outcome = run_phase(context, event)
    # Then the tenant is active in its source again and the record says why it was rolled back
    assert outcome["reconciled"] is True
    tenant = local.directory(SOURCE).get(tenant_id)
    assert (tenant.home_region, tenant.status) == (SOURCE, TenantStatus.ACTIVE)
    record = context.ledger().get(tenant_id, name)
    assert record.status is MigrationStatus.ROLLED_BACK
    assert "States.DataLimitExceeded" in str(record.get("error"))
    assert local.items(tenant_id, SOURCE) == before
    assert local.items(tenant_id, TARGET) == []
    # and the same event delivered again changes nothing
    assert run_phase(context, event)["reconciled"] is False
    assert context.ledger().get(tenant_id, name).to_dict() == record.to_dict()


def test_an_aborted_execution_is_rolled_back_by_the_local_rule(
    local: Local, phases: dict[str, PhaseRunner]
) -> None:
    # Given a migration held inside its transfer phase, the tenant frozen
    tenant_id = seed_tenant(local, contacts=5, orders=3)
    before = local.items(tenant_id, SOURCE)
    entered, release = threading.Event(), threading.Event()
    transfer = phases["transfer"]

    def held(context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(WAIT_S)
        return transfer(context, event)

    phases["transfer"] = held
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=2)
    assert entered.wait(WAIT_S)
    assert local.directory(SOURCE).get(tenant_id).status is TenantStatus.MIGRATING
    # When an operator stops the execution (no Catch runs: Step Functions just ends it)
    local.client("stepfunctions", SOURCE).stop_execution(executionArn=started.execution_arn, cause="operator")
    release.set()
    # Then the execution's ABORTED status change rolls the migration back
    record = _wait_for_record(local, tenant_id, started.migration_id)
    assert record.status is MigrationStatus.ROLLED_BACK, record.to_dict()
    assert "ExecutionAborted" in str(record.get("error"))
    tenant = local.directory(SOURCE).get(tenant_id)
    assert (tenant.home_region, tenant.status) == (SOURCE, TenantStatus.ACTIVE)
    assert local.items(tenant_id, SOURCE) == before
    assert local.items(tenant_id, TARGET) == []
