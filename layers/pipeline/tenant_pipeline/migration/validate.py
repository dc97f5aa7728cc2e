"""Phase 1: validate the request and open the migration (record and trace), before anything is frozen.

A request that cannot run (malformed input, unknown or inactive tenant, target equal to the home
region or without a deployed stack, a target that still holds a copy of the tenant) is recorded as
FAILED, its root span is emitted, and `InvalidMigrationRequestError` fails the execution.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tenant_pipeline.errors import UnknownTenantError
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import (
    InvalidMigrationRequestError,
    RegionNotConfiguredError,
    UnknownMigrationError,
)
from tenant_pipeline.migration.ledger import MigrationRecord, MigrationStatus
from tenant_pipeline.migration.phase_record import finish_trace, iso_from_ns, phase_span, start_trace
from tenant_pipeline.migration.request import MigrationRequest, MigrationState
from tenant_pipeline.store.keys import TENANT_ID_PATTERN
from tenant_pipeline.store.tenants import TenantStatus


def validate(context: MigrationContext, execution_input: Any, execution: Mapping[str, Any]) -> dict[str, Any]:
    """Returns `{"migration": MigrationState}` for the next states; idempotent per execution."""
    migration_id = str(execution.get("name") or uuid.uuid4())
    execution_arn = str(execution.get("id") or "")
    start_ns = _start_ns(execution.get("start_time"), context.clock_ns())
    tenant_hint = execution_input.get("tenant_id") if isinstance(execution_input, Mapping) else None
    try:
        request = MigrationRequest.parse(execution_input)
        existing = _existing(context, request.tenant_id, migration_id)
        if existing is not None:
            return {"migration": existing.to_dict()}
        source_region = _check(context, request)
    except InvalidMigrationRequestError as exc:
        _reject(
            context,
            execution_input,
            tenant_hint=tenant_hint,
            migration_id=migration_id,
            execution_arn=execution_arn,
            start_ns=start_ns,
            reason=str(exc),
        )
        raise
    trace = start_trace(
        execution_input,
        tenant_id=request.tenant_id,
        source_region=source_region,
        target_region=request.target_region,
        start_ns=start_ns,
    )
    state = MigrationState(
        migration_id=migration_id,
        tenant_id=request.tenant_id,
        source_region=source_region,
        target_region=request.target_region,
        execution_arn=execution_arn,
        trace=trace.to_dict(),
        started_ns=start_ns,
        chunk_items=request.chunk_items,
    )
    with phase_span(state, "validate"):
        finished = context.clock_ns()
        context.ledger().create(
            migration_id=migration_id,
            tenant_id=request.tenant_id,
            source_region=source_region,
            target_region=request.target_region,
            started_at=iso_from_ns(start_ns),
            execution_arn=execution_arn,
            trace=trace.to_dict(),
            trace_id=trace.trace_id_hex,
            chunk_items=request.chunk_items,
            current_phase="validate",
            phase_validate={
                "status": "done",
                "started_at": iso_from_ns(start_ns),
                "finished_at": iso_from_ns(finished),
                "duration_s": round(max(0, finished - start_ns) / 1e9, 3),
            },
        )
    return {"migration": state.to_dict()}


def _existing(context: MigrationContext, tenant_id: str, migration_id: str) -> MigrationState | None:
    """The state of a migration this execution already opened (the phase is being retried)."""
    try:
        record = context.ledger().get(tenant_id, migration_id)
    except UnknownMigrationError:
        return None
    if record.status is not MigrationStatus.RUNNING:
        raise InvalidMigrationRequestError(
            f"migration {migration_id} of tenant {tenant_id} already ended {record.status.value}"
        )
    return state_of(record)


def state_of(record: MigrationRecord) -> MigrationState:
    return MigrationState(
        migration_id=record.migration_id,
        tenant_id=record.tenant_id,
        source_region=record.source_region,
        target_region=record.target_region,
        execution_arn=str(record.get("execution_arn", "")),
        trace=record.trace,
        started_ns=int(record.trace.get("start_time_unix_nano", 0)),
        chunk_items=int(record.get("chunk_items", 1000)),
    )


def _check(context: MigrationContext, request: MigrationRequest) -> str:
    """The source (home) region, if the request can run; else `InvalidMigrationRequestError`."""
    tenant_id, target = request.tenant_id, request.target_region
    try:
        tenant = context.directory(context.home_region).get(tenant_id)
    except UnknownTenantError:
        raise InvalidMigrationRequestError(f"tenant {tenant_id} is not in the tenant directory") from None
    if tenant.status is not TenantStatus.ACTIVE:
        raise InvalidMigrationRequestError(
            f"tenant {tenant_id} is {tenant.status.value}; only an active tenant can be migrated"
        )
    if target == tenant.home_region:
        raise InvalidMigrationRequestError(f"tenant {tenant_id} already lives in {target}")
    try:
        context.stack(tenant.home_region)
        context.stack(target)
    except RegionNotConfiguredError as exc:
        raise InvalidMigrationRequestError(str(exc)) from None
    if context.items(target).holds_any(tenant_id, tenant.shard_count):
        raise InvalidMigrationRequestError(
            f"{target} still holds a copy of tenant {tenant_id} from an earlier migration; remove it with "
            f"`tenantctl purge-source {tenant_id} --region {target}` first"
        )
    return tenant.home_region


def _reject(
    context: MigrationContext,
    execution_input: Any,
    *,
    tenant_hint: Any,
    migration_id: str,
    execution_arn: str,
    start_ns: int,
    reason: str,
) -> None:
    """Record the refusal and emit its trace; nothing else was touched."""
    tenant_id = tenant_hint if isinstance(tenant_hint, str) else ""
    target = execution_input.get("target_region") if isinstance(execution_input, Mapping) else None
    trace = start_trace(
        execution_input if isinstance(execution_input, Mapping) else {},
        tenant_id=tenant_id,
        source_region="",
        target_region=target if isinstance(target, str) else "",
        start_ns=start_ns,
    )
    if TENANT_ID_PATTERN.fullmatch(tenant_id):
        context.ledger().create(
            migration_id=migration_id,
            tenant_id=tenant_id,
            source_region="",
            target_region=target if isinstance(target, str) else "",
            started_at=iso_from_ns(start_ns),
            status=MigrationStatus.FAILED,
            execution_arn=execution_arn,
            trace=trace.to_dict(),
            trace_id=trace.trace_id_hex,
            finished_at=iso_from_ns(context.clock_ns()),
            error=reason,
            phase_validate={"status": "failed", "error": reason},
            input=json.dumps(execution_input, default=str)[:2000],
        )
    finish_trace(
        trace.to_dict(), tenant_id=tenant_id, status="FAILED", integrity_check="not_run", error=reason
    )


def _start_ns(start_time: Any, fallback: int) -> int:
    """The execution's start (an ISO 8601 string from the context object), in epoch nanoseconds."""
    if not isinstance(start_time, str) or not start_time:
        return fallback
    try:
        moment = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return int(moment.timestamp() * 1_000_000) * 1000
