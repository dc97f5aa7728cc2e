"""Phase 3: snapshot. Stream the tenant's items from the source table into gzip JSON Lines chunks, leg by leg.

Memory holds one chunk at a time. A leg ends only right after writing a chunk, so its cursor names the
key of that chunk's last item (where the next leg's Query resumes), the next chunk number, and the
running count and checksum. Chunks follow the items' order whatever the legs, so a leg re-run from the
same cursor writes the same objects. Each leg lists the chunks it wrote in an object of its own; the
last leg joins those lists into the chunk index (the list the load maps over) and the manifest, which
goes last, so its presence means the snapshot is complete: a retried leg finds it and returns it
instead of reading the table again.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tenant_pipeline.migration.checksum import ItemChecksum
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotCorruptError
from tenant_pipeline.migration.item_codec import canonical_line
from tenant_pipeline.migration.legs import ReadCursor
from tenant_pipeline.migration.phase_record import Leg, iso_from_ns, query_span, recorded_leg
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


@dataclass(frozen=True)
class SnapshotCursor(ReadCursor):
    """`after` is the key of the last item written: a leg ends only with a chunk."""

    chunk: int = 0
    """Number of the next chunk."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "chunk": self.chunk}

    @classmethod
    def from_dict(cls, cursor: Any) -> SnapshotCursor:
        fields, data = cls.read_fields(cursor)
        return cls(**fields, chunk=int(data.get("chunk", 0)))


def snapshot(context: MigrationContext, state: MigrationState, cursor: Any = None) -> dict[str, Any]:
    """One leg; `done` once the manifest is written. `cursor` is the previous leg's (None at first)."""
    position = SnapshotCursor.from_dict(cursor)
    prefix = snapshot_prefix(state.tenant_id, state.migration_id)
    store = context.snapshots(state.source_region)
    with recorded_leg(context, state, "snapshot", position.progress) as leg:
        manifest = store.manifest(prefix)
        if manifest is None:
            position = _take_leg(context, state, store, prefix, position, leg=leg)
            manifest = _join_legs(context, state, store, prefix, position) if leg.done else None
        leg.done = manifest is not None
        if manifest is None:
            leg.span.set_attribute("migration.record_count", position.count)
        else:
            leg.attributes = {
                "migration.record_count": manifest.record_count,
                "migration.chunks": len(manifest.chunks),
            }
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
        "done": leg.done,
        "cursor": replace(position, progress=leg.progress).to_dict(),
        "manifest_key": manifest_key(prefix),
        "chunk_index_key": chunk_index_key(prefix),
        "chunk_count": len(manifest.chunks) if manifest else position.chunk,
        "record_count": manifest.record_count if manifest else position.count,
        "checksum": manifest.checksum if manifest else position.checksum,
    }


def _take_leg(
    context: MigrationContext,
    state: MigrationState,
    store: SnapshotStore,
    prefix: str,
    start: SnapshotCursor,
    *,
    leg: Leg,
) -> SnapshotCursor:
    """Write chunks from `start` until the budget runs out or the items do; sets `leg.done` at the end."""
    source = context.items(state.source_region)
    partitions = source.partitions(state.tenant_id, context.shard_count(state.tenant_id))
    checksum = ItemChecksum.resume(start.count, start.checksum)
    entities: Counter[str] = Counter()
    chunks: list[ChunkInfo] = []
    lines: list[bytes] = []

    def flush() -> None:
        # mtime=0: the same items always give the same bytes, so a re-run rewrites identical objects.
        body = gzip.compress(b"".join(lines), mtime=0)
        key = chunk_key(prefix, start.chunk + len(chunks))
        store.put(key, body)
        chunks.append(
            ChunkInfo(key=key, count=len(lines), bytes=len(body), sha256=hashlib.sha256(body).hexdigest())
        )
        lines.clear()

    for index in range(start.partition, len(partitions)):
        after = start.after if index == start.partition else None
        with query_span(source.table_name, partitions[index]) as span:
            read = 0
            for page in source.pages(partitions[index], after):
                for item in page.items:
                    read += 1
                    checksum.add(item)
                    entities[item["pk"]["S"].split("#")[1]] += 1
                    lines.append(canonical_line(item))
                    if len(lines) < state.chunk_items:
                        continue
                    flush()
                    leg.budget.step()
                    if leg.budget.exhausted:
                        span.set_attribute("migration.records", read)
                        store.put_leg_chunks(prefix, start.progress.leg, chunks, entities)
                        return _reached(start, checksum, index, {"pk": item["pk"], "sk": item["sk"]}, chunks)
            span.set_attribute("migration.records", read)
    if lines:
        flush()
    store.put_leg_chunks(prefix, start.progress.leg, chunks, entities)
    leg.done = True
    return _reached(start, checksum, len(partitions), None, chunks)


def _reached(
    start: SnapshotCursor,
    checksum: ItemChecksum,
    partition: int,
    after: Mapping[str, Any] | None,
    chunks: list[ChunkInfo],
) -> SnapshotCursor:
    return SnapshotCursor(
        progress=start.progress,
        partition=partition,
        after=after,
        chunk=start.chunk + len(chunks),
        count=checksum.count,
        checksum=checksum.hexdigest,
    )


def _join_legs(
    context: MigrationContext, state: MigrationState, store: SnapshotStore, prefix: str, end: SnapshotCursor
) -> Manifest:
    """The manifest of every leg's chunks (legs 0 to this one), written after the chunk index."""
    chunks: list[ChunkInfo] = []
    entities: Counter[str] = Counter()
    for number in range(end.progress.leg + 1):
        leg_chunks, leg_entities = store.leg_chunks(prefix, number)
        chunks += leg_chunks
        entities.update(leg_entities)
    if sum(chunk.count for chunk in chunks) != end.count or len(chunks) != end.chunk:
        raise SnapshotCorruptError(
            f"the snapshot's legs list {len(chunks)} chunks of {sum(chunk.count for chunk in chunks)} items; "
            f"its cursor counted {end.chunk} chunks of {end.count}"
        )
    manifest = Manifest(
        tenant_id=state.tenant_id,
        migration_id=state.migration_id,
        source_region=state.source_region,
        created_at=iso_from_ns(context.clock_ns()),
        record_count=end.count,
        checksum=end.checksum,
        entity_counts=dict(sorted(entities.items())),
        chunks=tuple(chunks),
    )
    store.put_chunk_index(prefix, manifest)
    store.put_manifest(prefix, manifest)
    return manifest
