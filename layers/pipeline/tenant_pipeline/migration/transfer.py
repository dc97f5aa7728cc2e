"""Phase 4: transfer. Copy the snapshot to the target region's snapshot bucket, under the same keys."""

from __future__ import annotations

import json
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotMissingError
from tenant_pipeline.migration.phase_record import recorded_phase
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import Manifest, manifest_key, snapshot_prefix
from tenant_telemetry.metrics import pipeline_metrics


def transfer(context: MigrationContext, state: MigrationState) -> dict[str, Any]:
    """Idempotent: every object is copied again over the same key; the byte count is set, not added."""
    with recorded_phase(context, state, "transfer") as span:
        prefix = snapshot_prefix(state.tenant_id, state.migration_id)
        source = context.snapshots(state.source_region)
        target = context.snapshots(state.target_region)
        try:
            manifest_body = source.read(manifest_key(prefix))
        except SnapshotMissingError:
            raise SnapshotMissingError(
                f"the snapshot of migration {state.migration_id} has no manifest"
            ) from None
        manifest = Manifest.from_dict(json.loads(manifest_body))
        for chunk in manifest.chunks:
            target.copy_from(source.bucket, chunk.key)
        # The manifest goes last: a target bucket holding it holds the whole snapshot.
        target.put(manifest_key(prefix), manifest_body, content_type="application/json")
        transferred = manifest.snapshot_bytes + len(manifest_body)
        span.set_attribute("migration.bytes_transferred", transferred)
        span.set_attribute("migration.objects", len(manifest.chunks) + 1)
        context.ledger().update(state.tenant_id, state.migration_id, {"bytes_transferred": transferred})
    pipeline_metrics().record_migration_bytes(transferred, tenant_id=state.tenant_id)
    return {"bytes_transferred": transferred, "objects": len(manifest.chunks) + 1}
