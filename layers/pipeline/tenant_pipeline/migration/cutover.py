"""Phase 7: cutover. The directories name the target as home, the tenant is active again, done.

It refuses unless the record says verification passed, whatever the state machine asks. The source
copy is kept (see `purge`), so an operator can compare or fall back; `tenantctl purge-source`
removes it.
"""

from __future__ import annotations

from typing import Any

from tenant_pipeline.errors import TenantExistsError, UnknownTenantError
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.directories import cutover_regions
from tenant_pipeline.migration.errors import MigrationConflictError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.phase_record import finish_migration, recorded_phase
from tenant_pipeline.migration.state import MigrationState
from tenant_pipeline.store.tenants import Tenant, TenantDirectory, TenantStatus


def cutover(context: MigrationContext, state: MigrationState) -> dict[str, Any]:
    with recorded_phase(context, state, "cutover"):
        record = context.ledger().get(state.tenant_id, state.migration_id)
        if record.get("checksum_match") is not True:
            raise MigrationConflictError(f"migration {state.migration_id} has not passed verification")
        home = context.directory(context.home_region).get(state.tenant_id)
        for region in cutover_regions(context, state):
            _point_to_target(context.directory(region), home, state)
    finish_migration(
        context, state, MigrationStatus.SUCCEEDED, integrity_check="passed", source_retained=True
    )
    return {"status": MigrationStatus.SUCCEEDED.value}


def _point_to_target(directory: TenantDirectory, home: Tenant, state: MigrationState) -> None:
    """Idempotent: an entry already naming the target as an active home is left alone."""
    try:
        current = directory.get(state.tenant_id)
    except UnknownTenantError:
        try:
            directory.create(  # the count travels with the entry: the copied items are keyed by it
                state.tenant_id,
                state.target_region,
                home.max_invalid_ratio,
                home.column_mappings,
                shard_count=home.shard_count,
            )
        except TenantExistsError:
            current = directory.get(state.tenant_id)
        else:
            return
    if current.status is TenantStatus.ACTIVE and current.home_region == state.target_region:
        return
    if current.status is TenantStatus.SUSPENDED:
        raise MigrationConflictError(f"tenant {state.tenant_id} was suspended during its migration")
    directory.set_status(state.tenant_id, TenantStatus.ACTIVE, home_region=state.target_region)
