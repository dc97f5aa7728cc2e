"""Phase 6: verify. Read the target back and compare its count and checksum with the manifest.

The expected figures come from the source bucket's manifest (written before anything left the
source region), and the actual ones from the target table itself, never from what was sent.
"""

from __future__ import annotations

from typing import Any

from tenant_pipeline.migration.checksum import checksum_of
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotMissingError
from tenant_pipeline.migration.phase_record import recorded_phase
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import snapshot_prefix
from tenant_telemetry.metrics import pipeline_metrics


def verify(context: MigrationContext, state: MigrationState) -> dict[str, Any]:
    with recorded_phase(context, state, "verify") as span:
        manifest = context.snapshots(state.source_region).manifest(
            snapshot_prefix(state.tenant_id, state.migration_id)
        )
        if manifest is None:
            raise SnapshotMissingError(f"the snapshot of migration {state.migration_id} has no manifest")
        actual = checksum_of(
            context.items(state.target_region).items(state.tenant_id, context.shard_count(state.tenant_id))
        )
        match = actual.count == manifest.record_count and actual.hexdigest == manifest.checksum
        span.set_attribute("migration.integrity_check", "passed" if match else "failed")
        span.set_attribute("migration.record_count", manifest.record_count)
        span.set_attribute("migration.target_record_count", actual.count)
        context.ledger().update(
            state.tenant_id,
            state.migration_id,
            {
                "target_record_count": actual.count,
                "target_checksum": actual.hexdigest,
                "checksum_match": match,
            },
        )
    pipeline_metrics().record_integrity_check(
        tenant_id=state.tenant_id, result="passed" if match else "failed"
    )
    return {
        "match": match,
        "record_count": manifest.record_count,
        "target_record_count": actual.count,
        "checksum": manifest.checksum,
        "target_checksum": actual.hexdigest,
    }
