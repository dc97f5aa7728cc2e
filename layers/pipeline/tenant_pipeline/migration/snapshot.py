"""Phase 3: snapshot. Stream the tenant's items from the source table into gzip JSON Lines chunks.

Memory holds one chunk at a time. The chunk index (the list the load maps over) is written from the
manifest's chunks just before the manifest, which is written last, so its presence means the snapshot
is complete: a retried phase finds it and returns it instead of reading the table again (writes
are frozen, so a second read would give the same items anyway).
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from typing import Any

from tenant_pipeline.migration.checksum import ItemChecksum
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.item_codec import canonical_line
from tenant_pipeline.migration.phase_record import iso_from_ns, recorded_phase
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import (
    ChunkInfo,
    Manifest,
    SnapshotStore,
    chunk_index_key,
    chunk_key,
    manifest_key,
    snapshot_prefix,
)


def snapshot(context: MigrationContext, state: MigrationState) -> dict[str, Any]:
    with recorded_phase(context, state, "snapshot") as span:
        prefix = snapshot_prefix(state.tenant_id, state.migration_id)
        store = context.snapshots(state.source_region)
        manifest = store.manifest(prefix)
        if manifest is None:
            manifest = _take(context, state, store, prefix)
        span.set_attribute("migration.record_count", manifest.record_count)
        span.set_attribute("migration.chunks", len(manifest.chunks))
        context.ledger().update(
            state.tenant_id,
            state.migration_id,
            {
                "record_count": manifest.record_count,
                "checksum": manifest.checksum,
                "chunks": len(manifest.chunks),
            },
        )
    return {
        "manifest_key": manifest_key(prefix),
        "chunk_index_key": chunk_index_key(prefix),
        "chunk_count": len(manifest.chunks),
        "record_count": manifest.record_count,
        "checksum": manifest.checksum,
    }


def _take(context: MigrationContext, state: MigrationState, store: SnapshotStore, prefix: str) -> Manifest:
    checksum = ItemChecksum()
    entities: Counter[str] = Counter()
    chunks: list[ChunkInfo] = []
    lines: list[bytes] = []

    def flush() -> None:
        # mtime=0: the same items always give the same bytes, so a re-run rewrites identical objects.
        body = gzip.compress(b"".join(lines), mtime=0)
        key = chunk_key(prefix, len(chunks))
        store.put(key, body)
        chunks.append(
            ChunkInfo(key=key, count=len(lines), bytes=len(body), sha256=hashlib.sha256(body).hexdigest())
        )
        lines.clear()

    for item in context.items(state.source_region).items(
        state.tenant_id, context.shard_count(state.tenant_id)
    ):
        checksum.add(item)
        entities[item["pk"]["S"].split("#")[1]] += 1
        lines.append(canonical_line(item))
        if len(lines) >= state.chunk_items:
            flush()
    if lines:
        flush()
    manifest = Manifest(
        tenant_id=state.tenant_id,
        migration_id=state.migration_id,
        source_region=state.source_region,
        created_at=iso_from_ns(context.clock_ns()),
        record_count=checksum.count,
        checksum=checksum.hexdigest,
        entity_counts=dict(sorted(entities.items())),
        chunks=tuple(chunks),
    )
    store.put_chunk_index(prefix, manifest)
    store.put_manifest(prefix, manifest)
    return manifest
