"""Phase 4: transfer. Copy the snapshot to the target region's snapshot bucket, under the same keys, leg by
leg: the cursor is the number of the next chunk to copy. Copies are server-side and idempotent (the
same key again), so a leg re-run from the same cursor writes the same objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotMissingError
from tenant_pipeline.migration.legs import LegProgress, cursor_fields
from tenant_pipeline.migration.phase_record import recorded_leg
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import Manifest, manifest_key, snapshot_prefix
from tenant_telemetry.metrics import pipeline_metrics


@dataclass(frozen=True)
class TransferCursor:
    progress: LegProgress = field(default_factory=LegProgress)
    chunk: int = 0
    """Index in the manifest's chunks of the next chunk to copy."""

    def to_dict(self) -> dict[str, Any]:
        return {"progress": self.progress.to_dict(), "chunk": self.chunk}

    @classmethod
    def from_dict(cls, cursor: Any) -> TransferCursor:
        progress, data = cursor_fields(cursor)
        return cls(progress=progress, chunk=int(data.get("chunk", 0)))


def transfer(context: MigrationContext, state: MigrationState, cursor: Any = None) -> dict[str, Any]:
    """One leg; `done` once the manifest is in the target. The byte count is set at the end, not added."""
    position = TransferCursor.from_dict(cursor)
    transferred = 0
    with recorded_leg(context, state, "transfer", position.progress) as leg:
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
        index = position.chunk
        while index < len(manifest.chunks):
            target.copy_from(source.bucket, manifest.chunks[index].key)
            index += 1
            leg.budget.step()
            if leg.budget.exhausted:
                break
        leg.span.set_attribute("migration.objects", index - position.chunk)
        position = TransferCursor(position.progress, index)
        if index >= len(manifest.chunks):
            # The manifest goes last: a target bucket holding it holds the whole snapshot.
            target.put(manifest_key(prefix), manifest_body, content_type="application/json")
            transferred = manifest.snapshot_bytes + len(manifest_body)
            leg.done = True
            leg.attributes = {
                "migration.bytes_transferred": transferred,
                "migration.objects": len(manifest.chunks) + 1,
            }
            context.ledger().update(state.tenant_id, state.migration_id, {"bytes_transferred": transferred})
    if leg.done:
        pipeline_metrics().record_migration_bytes(transferred, tenant_id=state.tenant_id)
    return {
        "done": leg.done,
        "cursor": TransferCursor(leg.progress, position.chunk).to_dict(),
        "bytes_transferred": transferred,
    }
