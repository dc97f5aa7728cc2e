"""Phase 5: load. Write one snapshot chunk into the target table (the state machine maps over chunks).

Puts are idempotent, so a retried or repeated chunk writes the same items again. The chunk's bytes
are checked against the digest the snapshot recorded in the chunk index (the Map's item), so a
damaged copy never reaches the table. Each chunk's timing goes to the jobs ledger, so
`tenantctl explain` can name the slowest ones.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from tenant_pipeline.migration.chunk_timing import ChunkTiming
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import (
    MigrationError,
    SnapshotCorruptError,
    SnapshotMissingError,
    TransientMigrationError,
)
from tenant_pipeline.migration.item_codec import decode_item
from tenant_pipeline.migration.phase_record import phase_span
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.snapshot_store import chunk_number, snapshot_prefix
from tenant_telemetry import get_tracer
from tenant_telemetry.database import dynamodb_attributes, dynamodb_span_name

LOG = logging.getLogger(__name__)
READ_SPAN = "S3.GetObject"
"""Child of `migration.load`: reading the chunk from S3 and checking its digest, named and described
as the RPC semantic conventions describe an AWS SDK call."""


def load(context: MigrationContext, state: MigrationState, chunk: Any) -> dict[str, Any]:
    """`chunk` is one item of the chunk index (`{"key", "count", "sha256"}`), as the Map hands it over."""
    prefix = snapshot_prefix(state.tenant_id, state.migration_id)
    key, digest = _chunk_entry(chunk)
    number = chunk_number(prefix, key)
    if number is None:
        raise SnapshotMissingError(f"chunk {key!r} is not part of migration {state.migration_id}")
    started = context.clock_ns()
    with phase_span(state, "load", **{"migration.chunk": key}) as span:
        store = context.snapshots(state.target_region)
        read_started = time.perf_counter()
        with get_tracer().start_as_current_span(
            READ_SPAN,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": "S3",
                "rpc.method": "GetObject",
                "aws.s3.bucket": store.bucket,
                "aws.s3.key": key,
            },
        ):
            body = store.read(key)
            if hashlib.sha256(body).hexdigest() != digest:
                raise SnapshotCorruptError(f"chunk {key} does not match its digest in the chunk index")
        read_s = time.perf_counter() - read_started
        items = [decode_item(json.loads(line)) for line in gzip.decompress(body).splitlines() if line]
        target = context.items(state.target_region)
        table = context.stack(state.target_region).tenant_data_table
        write_started = context.clock_ns()
        # One span for the chunk's BatchWriteItem calls (25 items each), named as the database
        # semantic conventions name an operation on a table.
        with get_tracer().start_as_current_span(
            dynamodb_span_name("BatchWriteItem", table),
            attributes=dynamodb_attributes("BatchWriteItem", table),
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
    return {"chunk": key, "records": written}


def record_chunk_failure(
    context: MigrationContext, state: MigrationState, chunk: Any, exc: MigrationError
) -> None:
    """A chunk loads in a child execution of the Map, whose error never reaches the parent's Catch
    (the Map fails with States.ExceedToleratedFailureThreshold): the record keeps it for the
    rollback's reason. A transient error is retried by the state machine, so it is not recorded."""
    if isinstance(exc, TransientMigrationError):
        return
    key = chunk.get("key") if isinstance(chunk, Mapping) else chunk
    context.ledger().update(
        state.tenant_id, state.migration_id, {"load_error": f"chunk {key}: {type(exc).__name__}: {exc}"[:500]}
    )


def _chunk_entry(chunk: Any) -> tuple[str, str]:
    key = chunk.get("key") if isinstance(chunk, Mapping) else None
    digest = chunk.get("sha256") if isinstance(chunk, Mapping) else None
    if not isinstance(key, str) or not isinstance(digest, str):
        raise SnapshotMissingError(f"{chunk!r} is not an item of a chunk index (key and sha256)")
    return key, digest


def _record_timing(context: MigrationContext, state: MigrationState, timing: ChunkTiming) -> None:
    """Under the migration's id, as a job's batch timings are; losing it costs the explanation only."""
    try:
        context.jobs().record_batch_timing(state.migration_id, timing.chunk, timing.to_dict())
    except Exception:
        LOG.warning("could not record the timing of chunk %s of %s", timing.chunk, state.migration_id)
