"""The phases that move the tenant in the directories: freeze (phase 2) and cutover (phase 7).

Each region's stack has its own directory. The function's own region (where the execution runs)
is the directory of record; the source region's directory must agree with it, so imports that land
there are refused while the tenant migrates; at cutover the target's directory learns the tenant.

Freeze sets the tenant `migrating`, so imports are refused until the migration ends. Cutover refuses
unless the record says verification passed, whatever the state machine asks; it names the target as
home and the tenant is active again. The source copy is kept (see `purge`), so an operator can
compare or fall back; `tenantctl purge-source` removes it.
"""

from __future__ import annotations

from typing import Any

from tenant_pipeline.errors import TenantExistsError, TenantStatusConflictError, UnknownTenantError
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import MigrationConflictError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.phase_record import finish_migration, recorded_phase
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.store.tenants import Tenant, TenantDirectory, TenantStatus


def frozen_regions(context: MigrationContext, state: MigrationState) -> list[str]:
    """Directories that hold the tenant while it migrates: the function's region, then the source."""
    return list(dict.fromkeys([context.home_region, state.source_region]))


def cutover_regions(context: MigrationContext, state: MigrationState) -> list[str]:
    """The target first, so every directory that names the new home can already serve it."""
    return list(dict.fromkeys([state.target_region, *frozen_regions(context, state)]))


def freeze(context: MigrationContext, state: MigrationState) -> dict[str, Any]:
    with recorded_phase(context, state, "freeze"):
        for region in frozen_regions(context, state):
            directory = context.directory(region)
            try:
                directory.set_status(state.tenant_id, TenantStatus.MIGRATING, expected=TenantStatus.ACTIVE)
            except UnknownTenantError:
                if region == context.home_region:
                    raise MigrationConflictError(f"tenant {state.tenant_id} left the directory") from None
            except TenantStatusConflictError:
                current = directory.get(state.tenant_id)
                if current.status is not TenantStatus.MIGRATING or not _freeze_is_ours(context, state):
                    raise MigrationConflictError(
                        f"tenant {state.tenant_id} is {current.status.value} in {region}: another migration "
                        "or an operator changed it"
                    ) from None
        context.ledger().update(state.tenant_id, state.migration_id, {"frozen": True})
    return {"frozen": True}


def _freeze_is_ours(context: MigrationContext, state: MigrationState) -> bool:
    """A `migrating` tenant was frozen by this migration unless another running one holds the freeze."""
    for record in context.ledger().list_for_tenant(state.tenant_id):
        if record.migration_id == state.migration_id:
            continue
        if record.status is MigrationStatus.RUNNING and record.frozen:
            return False
    return True


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
