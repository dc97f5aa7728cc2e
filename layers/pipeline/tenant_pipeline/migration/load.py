"""Phase 5: load. Write one snapshot chunk into the target table (the state machine maps over chunks).

Puts are idempotent, so a retried or repeated chunk writes the same items again. The chunk's bytes
are checked against the digest the manifest recorded, so a damaged copy never reaches the table.
Each chunk's timing goes to the jobs ledger, so `tenantctl explain` can name the slowest ones.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from typing import Any

from tenant_pipeline.migration.chunk_timing import ChunkTiming
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotCorruptError, SnapshotMissingError
from tenant_pipeline.migration.item_codec import decode_item
from tenant_pipeline.migration.manifest import snapshot_prefix
from tenant_pipeline.migration.snapshots import SnapshotStore
from tenant_pipeline.migration.state import MigrationState
from tenant_pipeline.migration.tracing import phase_span
from tenant_telemetry import get_tracer

LOG = logging.getLogger(__name__)
READ_SPAN = "S3.GetObject"
"""Child of `migration.load`: reading the manifest and the chunk from S3 and checking the chunk's digest,
named and described as the RPC semantic conventions describe an AWS SDK call."""


def load(context: MigrationContext, state: MigrationState, chunk: str) -> dict[str, Any]:
    prefix = snapshot_prefix(state.tenant_id, state.migration_id)
    if not isinstance(chunk, str) or not chunk.startswith(prefix):
        raise SnapshotMissingError(f"chunk {chunk!r} is not part of migration {state.migration_id}")
    started = context.clock_ns()
    with phase_span(state, "load", **{"migration.chunk": chunk}) as span:
        store = context.snapshots(state.target_region)
        read_started = time.perf_counter()
        with get_tracer().start_as_current_span(
            READ_SPAN,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": "S3",
                "rpc.method": "GetObject",
                "aws.s3.bucket": store.bucket,
                "aws.s3.key": chunk,
            },
        ):
            number, body = _read(store, prefix, chunk, state.migration_id)
        read_s = time.perf_counter() - read_started
        items = [decode_item(json.loads(line)) for line in gzip.decompress(body).splitlines() if line]
        target = context.items(state.target_region)
        table = context.stack(state.target_region).tenant_data_table
        write_started = context.clock_ns()
        # One span for the chunk's BatchWriteItem calls (25 items each), named as the database
        # semantic conventions name an operation on a table.
        with get_tracer().start_as_current_span(
            f"BatchWriteItem {table}",
            attributes={
                "db.system.name": "aws.dynamodb",
                "db.operation.name": "BatchWriteItem",
                "db.collection.name": table,
                "aws.dynamodb.table_names": [table],
            },
        ) as write_span:
            written = target.put_all(items)
            write_span.set_attributes(
                {
                    "migration.records": written,
                    "migration.throttled_retries": target.throttled_retries,
                    "migration.throttled_seconds": target.throttled_s,
                }
            )
        write_ended = context.clock_ns()
        span.set_attribute("migration.records", written)
    context.ledger().update(
        state.tenant_id,
        state.migration_id,
        {"current_phase": "load", "load_last_end": context.clock_ns() / 1e9},
        add_fields={"load_records": written, "load_chunks": 1},
        set_if_absent={"load_first_start": started / 1e9},
    )
    timing = ChunkTiming(
        chunk=number,
        records=written,
        started_ns=started,
        read_s=read_s,
        write_started_ns=write_started,
        write_ended_ns=write_ended,
        throttled_retries=target.throttled_retries,
        throttled_s=target.throttled_s,
        ended_ns=context.clock_ns(),
    )
    _record_timing(context, state, timing)
    return {"chunk": chunk, "records": written}


def _read(store: SnapshotStore, prefix: str, chunk: str, migration_id: str) -> tuple[int, bytes]:
    """The chunk's number in the manifest and its bytes, checked against the manifest's digest."""
    manifest = store.manifest(prefix)
    if manifest is None:
        raise SnapshotMissingError(f"the target bucket has no manifest for migration {migration_id}")
    number = next((n for n, entry in enumerate(manifest.chunks) if entry.key == chunk), None)
    if number is None:
        raise SnapshotMissingError(f"chunk {chunk} is not in the manifest of migration {migration_id}")
    body = store.read(chunk)
    if hashlib.sha256(body).hexdigest() != manifest.chunks[number].sha256:
        raise SnapshotCorruptError(f"chunk {chunk} does not match its manifest digest")
    return number, body


def _record_timing(context: MigrationContext, state: MigrationState, timing: ChunkTiming) -> None:
    """Under the migration's id, as a job's batch timings are; losing it costs the explanation only."""
    try:
        context.jobs().record_batch_timing(state.migration_id, timing.chunk, timing.to_dict())
    except Exception:
        LOG.warning("could not record the timing of chunk %s of %s", timing.chunk, state.migration_id)
