"""Phase 8 (on failure): roll back. Remove what reached the target, give the tenant back to the source.

Only a migration that froze the tenant undoes anything: another migration's freeze and data are
never touched. The source table was never written, so restoring the directory is enough there.
Idempotent: deleting absent items and restoring an active tenant are no-ops.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tenant_pipeline.errors import UnknownTenantError
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.directories import frozen_regions
from tenant_pipeline.migration.errors import AlreadyCutOverError
from tenant_pipeline.migration.ledger import MigrationRecord, MigrationStatus
from tenant_pipeline.migration.phase_record import finish_migration, recorded_phase
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import snapshot_prefix
from tenant_pipeline.store.tenants import TenantStatus


def failure_reason(error: Any, record: MigrationRecord | None = None) -> str:
    """`{"Error": ..., "Cause": ...}` (a Catch's ResultPath) as `Error: message`."""
    if not isinstance(error, Mapping):
        return "the migration failed"
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    message = cause if isinstance(cause, str) else ""
    try:
        payload = json.loads(message) if message.startswith("{") else None
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        message = str(payload.get("errorMessage") or message)
    if name == "IntegrityCheckFailed" and record is not None:
        message = (
            f"the target holds {record.get('target_record_count')} item(s) with checksum "
            f"{record.get('target_checksum')}; the snapshot has {record.get('record_count')} with checksum "
            f"{record.get('checksum')}"
        )
    reason = f"{name}: {message}" if message else name
    load_error = record.get("load_error") if record is not None else None
    if load_error:
        reason += f"; a chunk failed to load: {load_error}"
    return reason


def rollback(context: MigrationContext, state: MigrationState, error: Any) -> dict[str, Any]:
    with recorded_phase(context, state, "rollback") as span:
        record = context.ledger().get(state.tenant_id, state.migration_id)
        reason = failure_reason(error, record)
        home = context.directory(context.home_region).get(state.tenant_id)
        if home.home_region == state.target_region:
            raise AlreadyCutOverError(f"tenant {state.tenant_id} already lives in {state.target_region}")
        deleted = 0
        if record.frozen:
            deleted = context.items(state.target_region).delete_tenant(state.tenant_id, home.shard_count)
            context.snapshots(state.target_region).delete_prefix(
                snapshot_prefix(state.tenant_id, state.migration_id)
            )
            _thaw(context, state)
        span.set_attribute("migration.target_items_deleted", deleted)
    status = MigrationStatus.ROLLED_BACK if record.frozen else MigrationStatus.FAILED
    finish_migration(
        context,
        state,
        status,
        integrity_check=_integrity(record.get("checksum_match")),
        error=reason,
        target_items_deleted=deleted,
    )
    return {"status": status.value, "reason": reason}


def _thaw(context: MigrationContext, state: MigrationState) -> None:
    for region in frozen_regions(context, state):
        directory = context.directory(region)
        try:
            current = directory.get(state.tenant_id)
        except UnknownTenantError:
            continue
        if current.status is TenantStatus.MIGRATING:
            directory.set_status(
                state.tenant_id,
                TenantStatus.ACTIVE,
                expected=TenantStatus.MIGRATING,
                home_region=state.source_region,
            )


def _integrity(match: Any) -> str:
    if match is True:
        return "passed"
    if match is False:
        return "failed"
    return "not_run"


def abandon(
    context: MigrationContext, state: MigrationState, error: Any, rollback_error: Any
) -> dict[str, Any]:
    """The rollback itself failed: record FAILED with both reasons, so an operator takes over."""
    record = context.ledger().get(state.tenant_id, state.migration_id)
    reason = f"{failure_reason(error, record)}; rollback failed: {failure_reason(rollback_error)}"
    finish_migration(
        context,
        state,
        MigrationStatus.FAILED,
        integrity_check=_integrity(record.get("checksum_match")),
        error=reason,
    )
    return {"status": MigrationStatus.FAILED.value, "reason": reason}
