"""Phase 6: verify. Read the target back and compare its count and checksum with the manifest, leg by leg.

The expected figures come from the source bucket's manifest (written before anything left the
source region), and the actual ones from the target table itself, never from what was sent. A leg
reads page after page; its cursor is the partition, the Query's `LastEvaluatedKey` there, and the
running count and checksum (a sum, so legs add up in any order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenant_pipeline.migration.checksum import ItemChecksum
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotMissingError
from tenant_pipeline.migration.legs import ReadCursor
from tenant_pipeline.migration.phase_record import Leg, query_span, recorded_leg
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import snapshot_prefix
from tenant_telemetry.metrics import pipeline_metrics


@dataclass(frozen=True)
class VerifyCursor(ReadCursor):
    """`after` is the last page's `LastEvaluatedKey`."""

    @classmethod
    def from_dict(cls, cursor: Any) -> VerifyCursor:
        fields, _ = cls.read_fields(cursor)
        return cls(**fields)


def verify(context: MigrationContext, state: MigrationState, cursor: Any = None) -> dict[str, Any]:
    """One leg; once `done`, `match` says whether the target equals the snapshot."""
    position = VerifyCursor.from_dict(cursor)
    result: dict[str, Any] = {"match": False, "record_count": None}
    with recorded_leg(context, state, "verify", position.progress) as leg:
        position = _read_leg(context, state, position, leg)
        leg.span.set_attribute("migration.target_record_count", position.count)
        if leg.done:
            result = _compare(context, state, position)
            leg.attributes = {
                "migration.integrity_check": "passed" if result["match"] else "failed",
                "migration.record_count": result["record_count"],
                "migration.target_record_count": position.count,
            }
    if leg.done:
        pipeline_metrics().record_integrity_check(
            tenant_id=state.tenant_id, result="passed" if result["match"] else "failed"
        )
    return {
        "done": leg.done,
        "cursor": VerifyCursor(
            leg.progress, position.partition, position.after, position.count, position.checksum
        ).to_dict(),
        **result,
        "target_record_count": position.count,
    }


def _read_leg(
    context: MigrationContext, state: MigrationState, start: VerifyCursor, leg: Leg
) -> VerifyCursor:
    """Read pages from `start` until the budget runs out or the partitions do; sets `leg.done` at the end."""
    target = context.items(state.target_region)
    partitions = target.partitions(state.tenant_id, context.shard_count(state.tenant_id))
    checksum = ItemChecksum.resume(start.count, start.checksum)
    partition, after = start.partition, start.after
    # The budget is asked only after a page, as the snapshot and the transfer do: every leg reads one.
    while partition < len(partitions) and not (leg.budget.steps and leg.budget.exhausted):
        with query_span(target.table_name, partitions[partition]) as span:
            pages = read = 0
            for page in target.pages(partitions[partition], after):
                checksum.add_all(page.items)
                pages, read = pages + 1, read + len(page.items)
                partition, after = (partition, page.last_key) if page.last_key else (partition + 1, None)
                leg.budget.step()
                if leg.budget.exhausted:
                    break
            span.set_attributes({"migration.pages": pages, "migration.records": read})
    leg.done = partition >= len(partitions)
    return VerifyCursor(start.progress, partition, after, checksum.count, checksum.hexdigest)


def _compare(context: MigrationContext, state: MigrationState, actual: VerifyCursor) -> dict[str, Any]:
    manifest = context.snapshots(state.source_region).manifest(
        snapshot_prefix(state.tenant_id, state.migration_id)
    )
    if manifest is None:
        raise SnapshotMissingError(f"the snapshot of migration {state.migration_id} has no manifest")
    match = actual.count == manifest.record_count and actual.checksum == manifest.checksum
    context.ledger().update(
        state.tenant_id,
        state.migration_id,
        {"target_record_count": actual.count, "target_checksum": actual.checksum, "checksum_match": match},
    )
    return {
        "match": match,
        "record_count": manifest.record_count,
        "checksum": manifest.checksum,
        "target_checksum": actual.checksum,
    }
