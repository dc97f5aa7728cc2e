"""A migration's explanation, on the real state machine: its phases and the transitions between them
add up to the execution's wall time as Step Functions reports it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from tenant_telemetry.testing import InMemoryTelemetry
from tenantctl.migrate_command import find_migration, start_migration, wait_for_migration
from tenantctl.migration_explanation import explain_migration
from tests.integration.migration.conftest import SOURCE, TARGET, Local, seed_tenant

WAIT_S = 120
CHUNK_ITEMS = 10


def _task_seconds(local: Local, execution_arn: str, start: datetime) -> dict[str, float]:
    """Per phase, the time Step Functions spent in its task states (entered to exited), from the history;
    the first task's from the execution's start (its record starts there)."""
    client = local.client("stepfunctions", SOURCE)
    events: list[dict[str, Any]] = client.get_execution_history(executionArn=execution_arn, maxResults=1000)[
        "events"
    ]
    states = {
        "ValidateRequest": "validate",
        "FreezeWrites": "freeze",
        "Snapshot": "snapshot",
        "Transfer": "transfer",
        "LoadTarget": "load",
        "Verify": "verify",
        "Cutover": "cutover",
    }
    entered: dict[str, datetime] = {}
    seconds: dict[str, float] = {}
    for event in events:
        if event["type"].endswith("StateEntered"):
            entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif event["type"].endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in states and name in entered:
                began = start if name == "ValidateRequest" else entered[name]
                seconds[states[name]] = (event["timestamp"] - began).total_seconds()
    return seconds


def test_a_migrations_phases_add_up_to_the_executions_wall_time(
    local: Local, telemetry: InMemoryTelemetry
) -> None:
    # Given a tenant of 34 items migrated in 4 chunks
    tenant_id = seed_tenant(local)
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=CHUNK_ITEMS)
    result = wait_for_migration(local.target(), started, WAIT_S)
    assert result["status"] == "SUCCEEDED", result
    found = find_migration(local.target(), started.migration_id)
    assert found is not None
    record, region = found
    _, chunks = local.target().ledger(region).timings(started.migration_id)

    explanation = explain_migration(record, chunks, now_ns=time.time_ns())

    # Then its lines add up to the execution's wall time as Step Functions tells it, within 5%
    execution = local.client("stepfunctions", SOURCE).describe_execution(executionArn=started.execution_arn)
    wall = (execution["stopDate"] - execution["startDate"]).total_seconds()
    phases = {phase.name: phase.seconds for phase in explanation.phases}
    assert abs(sum(phases.values()) - wall) <= 0.05 * wall
    assert abs(explanation.wall_seconds - wall) <= 0.05 * wall
    # and no phase took longer than Step Functions spent in its state (a little rounding aside)
    for name, seconds in _task_seconds(local, started.execution_arn, execution["startDate"]).items():
        assert phases[name] <= seconds + 0.01, name
    assert list(phases) == [
        "validate",
        "freeze",
        "snapshot",
        "transfer",
        "load",
        "verify",
        "cutover",
        "completion",
        "transitions",
    ]
    assert all(phases[name] > 0 for name in ("snapshot", "load", "verify"))
    # and every chunk's load is recorded, with its items
    assert explanation.chunks_recorded == 4
    assert sorted(chunk.chunk for chunk in explanation.slowest_chunks) == [0, 1, 2, 3]
    assert sum(chunk.records for chunk in explanation.slowest_chunks) == 34
    assert explanation.items == 34
    assert explanation.binding.startswith("The migration was bound by ")
    # and each chunk's load span has children for its read from S3 and its writes to DynamoDB
    loads = [span for span in telemetry.spans() if span.name == "migration.load"]
    assert len(loads) == 4
    for load in loads:
        children = {
            span.name: dict(span.attributes or {})
            for span in telemetry.spans()
            if span.parent is not None and span.parent.span_id == load.context.span_id
        }
        assert children["S3.GetObject"]["rpc.method"] == "GetObject"
        (write,) = [attributes for name, attributes in children.items() if name.startswith("BatchWriteItem ")]
        assert (write["db.system.name"], write["db.operation.name"]) == ("aws.dynamodb", "BatchWriteItem")
        assert write["migration.throttled_retries"] == 0
    assert sum(dict(span.attributes or {})["migration.records"] for span in loads) == 34
