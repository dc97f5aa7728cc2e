"""A tenant's exports run only in its home region, as its imports do.

After a migration's cutover the region the tenant left keeps a copy of its items until `purge-source`;
an export there would serve that stale copy, so it is refused with the region to ask instead.
"""

from __future__ import annotations

from tenant_pipeline.export.errors import ExportError
from tenant_pipeline.store.tenants import Tenant


class TenantElsewhereError(ExportError):
    """The tenant's home region is not the region this export was asked in."""


def refuse_outside_home_region(tenant: Tenant, region: str | None) -> None:
    """Raise `TenantElsewhereError` when `region` (the export function's own) is not the tenant's home."""
    if region is None or tenant.home_region == region:
        return
    raise TenantElsewhereError(
        f"tenant {tenant.tenant_id!r} lives in {tenant.home_region}, not {region}: exports are refused "
        f"here (this region may hold a stale copy); export from {tenant.home_region}"
    )
