"""Which of a tenant's directory entries `tenants show` and `tenants list` report."""

from __future__ import annotations

from tenant_pipeline.store.tenants import Tenant, TenantStatus
from tenantctl.target import entry_of_record

US = "us-east-1"
EU = "eu-west-1"
CREATED = "2026-01-01T00:00:00.000Z"


def _tenant(
    home: str, status: TenantStatus = TenantStatus.ACTIVE, created: str = CREATED, updated: str | None = None
) -> Tenant:
    return Tenant("acme", home, status, 0.5, created, updated)


def test_a_single_entry_is_reported_as_it_is() -> None:
    only = _tenant(US)
    assert entry_of_record({US: only}) == only


def test_after_a_cutover_the_new_home_is_reported_once_with_the_original_creation() -> None:
    # The source's entry was repointed at cutover; the target's entry was created then
    cutover = "2026-03-01T00:00:00.000Z"
    entries = {US: _tenant(EU, updated=cutover), EU: _tenant(EU, created=cutover)}

    tenant = entry_of_record(entries)

    assert (tenant.home_region, tenant.status) == (EU, TenantStatus.ACTIVE)
    assert tenant.created_at == CREATED
    assert tenant.updated_at == cutover


def test_the_home_directory_wins_over_a_copy_that_lags_behind_it() -> None:
    # The old region still names itself as home in a copy that is older than the new home's entry
    entries = {
        US: _tenant(US, updated="2026-02-01T00:00:00.000Z"),
        EU: _tenant(US, TenantStatus.MIGRATING, updated="2026-03-01T00:00:00.000Z"),
    }
    assert entry_of_record(entries).status is TenantStatus.ACTIVE
    # An entry that names another region as home loses to the entry in that home region
    entries = {
        US: _tenant(EU, updated="2026-04-01T00:00:00.000Z"),
        EU: _tenant(EU, TenantStatus.MIGRATING, updated="2026-03-01T00:00:00.000Z"),
    }
    assert entry_of_record(entries).status is TenantStatus.MIGRATING


def test_a_cutover_undone_part_way_reports_the_most_recently_changed_home() -> None:
    # The target was told it is home, then the rollback gave the tenant back to the source
    entries = {
        EU: _tenant(EU, created="2026-03-01T00:00:00.000Z"),
        US: _tenant(US, updated="2026-03-01T00:00:05.000Z"),
    }
    tenant = entry_of_record(entries)
    assert tenant.home_region == US
    assert tenant.updated_at == "2026-03-01T00:00:05.000Z"


def test_without_an_entry_at_home_the_most_recent_one_is_reported() -> None:
    entries = {
        US: _tenant("ap-southeast-2", updated="2026-02-01T00:00:00.000Z"),
        EU: _tenant("ap-southeast-1", updated="2026-03-01T00:00:00.000Z"),
    }
    assert entry_of_record(entries).home_region == "ap-southeast-1"
