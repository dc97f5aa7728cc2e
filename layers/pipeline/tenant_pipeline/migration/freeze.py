"""Phase 2: freeze writes. The tenant becomes `migrating`, so imports are refused until it ends."""

from __future__ import annotations

from typing import Any

from tenant_pipeline.errors import TenantStatusConflictError, UnknownTenantError
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.directories import frozen_regions
from tenant_pipeline.migration.errors import MigrationConflictError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.phase_record import recorded_phase
from tenant_pipeline.migration.state import MigrationState
from tenant_pipeline.store.tenants import TenantStatus


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
