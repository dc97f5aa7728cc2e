"""The demo's migration step: one tenant moves to the other region through the real workflow.

The migration state machine (the ASL the CDK app deploys) executes on the local AWS and calls the
migration function in-process. The step follows it phase by phase, then shows that the tenant is now
served from the target: its items counted in the target region's table, and the directory entry of
record (as `tenantctl tenants show` prints it) naming the new home region.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tenant_pipeline.migration.phase_record import ROOT_SPAN
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Resource
from tenantctl.commands.demo_checks import Say, expect, wait_for_spans
from tenantctl.migrate_command import start_migration, wait_for_migration
from tenantctl.output import key_values
from tenantctl.target import Target

PHASE_SPANS = ("migration.snapshot", "migration.transfer", "migration.verify", "migration.cutover")


def migration_step(
    target: Target,
    tenant_id: str,
    to_region: str,
    stored: Mapping[str, int],
    *,
    spans_file: Path | None,
    timeout_s: float,
    say: Say,
) -> dict[str, Any]:
    """Migrate the tenant, whose tables hold `stored` (entity -> records), to `to_region`."""
    started = start_migration(target, tenant_id, to_region)
    say(
        "",
        f"migrating {tenant_id}: {started.source_region} -> {started.target_region} "
        f"(execution {started.migration_id})",
    )

    def on_phase(name: str, phase: Mapping[str, Any]) -> None:
        mark = "✓" if phase.get("status") == "done" else "✗"
        duration = phase.get("duration_s")
        shown = f"{duration:.2f}s" if isinstance(duration, int | float) else "-"
        attempts = phase.get("attempts", 1)
        retried = f" after {attempts} attempts" if isinstance(attempts, int) and attempts > 1 else ""
        say(f"  {mark} {name:<9} {shown}{retried}")

    result = wait_for_migration(target, started, timeout_s, on_phase)
    label = f"migration {started.migration_id}"
    expect(
        result["status"] == "SUCCEEDED",
        f"{label} is {result['status']}: {result.get('error') or 'no error'}",
    )
    total = sum(stored.values())
    expect(result.get("checksum_match") is True, f"{label}: the target's checksum does not match")
    expect(
        result.get("record_count") == result.get("target_record_count") == total,
        f"{label}: {result.get('record_count')} items snapshotted, {result.get('target_record_count')} "
        f"in the target; the tenant has {total}",
    )
    say(
        f"✓ {label} SUCCEEDED: {total} items, checksums match, "
        f"{result.get('bytes_transferred')} bytes transferred"
    )
    in_target = _counts(target, to_region, tenant_id, stored)
    expect(
        in_target == dict(stored),
        f"{label}: the {to_region} table holds {in_target} of {tenant_id}, expected {dict(stored)}",
    )
    in_source = _counts(target, started.source_region, tenant_id, stored)
    tenant = target.find_tenant(tenant_id)
    expect(
        (tenant.home_region, tenant.status) == (to_region, TenantStatus.ACTIVE),
        f"{label}: {tenant_id} is {tenant.status.value} in {tenant.home_region}, "
        f"expected active in {to_region}",
    )
    listed = [entry for entry in target.all_tenants() if entry.tenant_id == tenant_id]
    expect(
        [entry.home_region for entry in listed] == [to_region],
        f"{label}: `tenants list` shows {tenant_id} in {[entry.home_region for entry in listed]}",
    )
    say(
        f"✓ {tenant_id} is read from {to_region}: its table there holds "
        + ", ".join(f"{count} {entity}" for entity, count in in_target.items()),
        f"  (the copy in {started.source_region} is kept: {sum(in_source.values())} items; "
        f"`tenantctl purge-source {tenant_id}` removes it)",
        f"$ tenantctl tenants show {tenant_id}",
        *(f"  {line}" for line in key_values(tenant.to_dict())),
    )
    spans = 0
    trace_id = str(result.get("trace_id") or started.trace_id)
    if spans_file is not None:
        spans = len(wait_for_spans(spans_file, trace_id, (ROOT_SPAN, *PHASE_SPANS), label))
        say(f"✓ migration trace {trace_id}: {ROOT_SPAN} with every phase ({spans} spans)")
    return {
        **result,
        "target_counts": in_target,
        "source_counts": in_source,
        "tenant": tenant.to_dict(),
        "spans": spans,
    }


def _counts(target: Target, region: str, tenant_id: str, stored: Mapping[str, int]) -> dict[str, int]:
    store = TenantDataStore(target.name(Resource.TENANT_DATA_TABLE, region), target.clients(region).dynamodb)
    shard_count = target.find_tenant(tenant_id).shard_count  # the same in both regions: the cutover copies it
    return {entity: store.count_entity(tenant_id, entity, shard_count) for entity in stored}
