"""Rolling back a migration whose execution ended where no Catch could take it.

`States.DataLimitExceeded`, the execution's own timeout and an operator's StopExecution end the
execution without running its Rollback state, and the tenant would stay `migrating`. EventBridge's
"Step Functions Execution Status Change" event (FAILED, TIMED_OUT or ABORTED) for the migration
state machine invokes the migration function with that event: a migration whose record still says
RUNNING is rolled back here. One the state machine already rolled back (or never opened, or cut
over) is left as it is, so the event is harmless after every ordinary failure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import AlreadyCutOverError, UnknownMigrationError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.rollback import rollback
from tenant_pipeline.migration.validate import state_of

EVENT_SOURCE = "aws.states"
EVENT_DETAIL_TYPE = "Step Functions Execution Status Change"
ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")
"""The execution statuses the EventBridge rule forwards (the infra and the local AWS both use it)."""


def is_execution_status_change(event: Any) -> bool:
    return (
        isinstance(event, Mapping)
        and event.get("source") == EVENT_SOURCE
        and event.get("detail-type") == EVENT_DETAIL_TYPE
    )


def reconcile(context: MigrationContext, event: Mapping[str, Any]) -> dict[str, Any]:
    """Roll back the execution's migration when it is still RUNNING; say what was done either way."""
    detail = event.get("detail")
    detail = detail if isinstance(detail, Mapping) else {}
    status = str(detail.get("status", ""))
    migration_id = str(detail.get("name", ""))
    tenant_id = _tenant_id(detail.get("input"))
    if status not in ENDED_BADLY or not migration_id or tenant_id is None:
        return {"reconciled": False, "reason": f"not a failed migration execution ({status or 'no status'})"}
    try:
        record = context.ledger().get(tenant_id, migration_id)
    except UnknownMigrationError:
        return {"reconciled": False, "reason": f"migration {migration_id} was never opened"}
    if record.status is not MigrationStatus.RUNNING:
        return {
            "reconciled": False,
            "reason": f"migration {migration_id} already ended {record.status.value}",
        }
    error = {"Error": f"Execution{status.title().replace('_', '')}", "Cause": _cause(detail, status)}
    try:
        outcome = rollback(context, state_of(record), error)
    except AlreadyCutOverError as exc:
        return {"reconciled": False, "reason": str(exc)}
    return {"reconciled": True, **outcome}


def _tenant_id(execution_input: Any) -> str | None:
    """The tenant named by the execution input (a JSON string in the event)."""
    try:
        document = json.loads(execution_input) if isinstance(execution_input, str) else execution_input
    except ValueError:
        return None
    tenant_id = document.get("tenant_id") if isinstance(document, Mapping) else None
    return tenant_id if isinstance(tenant_id, str) and tenant_id else None


def _cause(detail: Mapping[str, Any], status: str) -> str:
    error, cause = detail.get("error"), detail.get("cause")
    said = ": ".join(str(part) for part in (error, cause) if part)
    return said or f"the execution ended {status} outside the state machine's Catch"
