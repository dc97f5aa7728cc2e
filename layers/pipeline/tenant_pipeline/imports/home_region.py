"""A tenant's imports run only in its home region.

After a migration's cutover the tenant is `active` in both directories, with the target as its home;
an upload that still lands in the old region must be refused there (its rows would be written to a
copy the tenant no longer reads), with a reason that says where to upload instead.
"""

from __future__ import annotations

from tenant_pipeline.errors import TenantNotActiveError
from tenant_pipeline.store.tenants import Tenant


class TenantElsewhereError(TenantNotActiveError):
    """The tenant's home region is not the region this import arrived in."""


def refuse_outside_home_region(tenant: Tenant, region: str | None) -> None:
    """Raise `TenantElsewhereError` when `region` (the validator's own) is not the tenant's home.

    `region` None (unknown) admits the import: the check needs to know where it runs."""
    if region is None or tenant.home_region == region:
        return
    raise TenantElsewhereError(
        f"tenant {tenant.tenant_id!r} now lives in {tenant.home_region}, not {region}: imports are refused "
        f"here; upload the file to the {tenant.home_region} ingest bucket"
    )
