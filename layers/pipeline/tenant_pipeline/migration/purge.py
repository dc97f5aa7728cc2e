"""Removing the copy a finished migration keeps in the region the tenant left.

After cutover the source table still holds the tenant's items (retention: until an operator runs
`tenantctl purge-source`), so the migration can be checked or undone by hand. Purging is refused
for the tenant's home region and while the tenant is migrating.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import PurgeRefusedError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.phase_record import iso_from_ns
from tenant_pipeline.store.tenants import TenantStatus


@dataclass(frozen=True)
class PurgeResult:
    tenant_id: str
    region: str
    deleted_items: int


def purge_copy(context: MigrationContext, tenant_id: str, region: str) -> PurgeResult:
    """Delete the tenant's items from `region`'s table, which must not be its home."""
    tenant = context.directory(context.home_region).get(tenant_id)
    if tenant.status is TenantStatus.MIGRATING:
        raise PurgeRefusedError(f"tenant {tenant_id} is migrating; purge after the migration ends")
    if tenant.home_region == region:
        raise PurgeRefusedError(f"{region} is the home region of tenant {tenant_id}: its data there is live")
    deleted = context.items(region).delete_tenant(tenant_id, tenant.shard_count)
    ledger = context.ledger(region)  # a migration's record lives where its execution ran: its source
    purged_at = iso_from_ns(context.clock_ns())
    for record in ledger.list_for_tenant(tenant_id):
        if (
            record.source_region == region
            and record.status is MigrationStatus.SUCCEEDED
            and record.get("source_retained")
        ):
            ledger.update(
                tenant_id, record.migration_id, {"source_retained": False, "source_purged_at": purged_at}
            )
    return PurgeResult(tenant_id=tenant_id, region=region, deleted_items=deleted)
