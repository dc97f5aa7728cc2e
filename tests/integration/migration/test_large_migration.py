"""A migration of more chunks than the former chunk list could carry, on the local AWS.

Each chunk key is about 85 bytes of JSON, so 3,200 of them (about 270 KB) exceed Step Functions'
256 KB payload: had any state's input or output carried the list, the history would show it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenantctl.migrate_command import start_migration, wait_for_migration
from tests.integration.migration.conftest import SOURCE, TARGET, Local, seed_tenant

CHUNKS = 3_200
PAYLOAD_LIMIT_BYTES = 256 * 1024
"""Step Functions' quota on a state's input or output (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)."""
WAIT_S = 1500
"""About 60 ms of CPU per chunk on the local AWS (the Lambda invoke, S3, DynamoDB, the record)."""


def _history(local: Local, execution_arn: str) -> list[dict[str, Any]]:
    paginator = local.client("stepfunctions", SOURCE).get_paginator("get_execution_history")
    return [event for page in paginator.paginate(executionArn=execution_arn) for event in page["events"]]


def _payloads(event: dict[str, Any]) -> list[str]:
    """Every input, output and parameters text an event's details carry."""
    texts = []
    for name, details in event.items():
        if name.endswith("EventDetails") and isinstance(details, dict):
            texts += [
                value
                for key, value in details.items()
                if key in ("input", "output", "parameters") and isinstance(value, str)
            ]
    return texts


@pytest.mark.slow
@pytest.mark.timeout(WAIT_S + 60)
def test_a_migration_of_more_than_3000_chunks_keeps_every_payload_under_256_kb(local: Local) -> None:
    # Given a tenant of 3,200 items, migrated one item per chunk
    tenant_id = seed_tenant(local, contacts=CHUNKS - 100, orders=100)
    started = start_migration(local.target(), tenant_id, TARGET, chunk_items=1)
    # When the migration runs to its end
    result = wait_for_migration(local.target(), started, WAIT_S)
    # Then every item arrived, through 3,200 chunk loads
    assert result["status"] == "SUCCEEDED", result
    assert result["record_count"] == result["target_record_count"] == CHUNKS
    assert result["phases"]["load"]["chunks"] == CHUNKS
    assert len(local.items(tenant_id, TARGET)) == CHUNKS
    # and no state's input or output in the execution's history came near the payload quota
    events = _history(local, started.execution_arn)
    largest = max(len(text.encode()) for event in events for text in _payloads(event))
    assert largest < PAYLOAD_LIMIT_BYTES
    assert largest < 16 * 1024, "the execution state should hold keys and figures, never a list of chunks"
    # and the chunk loads ran as child executions: their events are not in this history
    assert len(events) < CHUNKS
