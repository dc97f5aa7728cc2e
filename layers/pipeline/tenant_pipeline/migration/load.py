"""Phase 5: load. Write one snapshot chunk into the target table (the state machine maps over chunks).

Puts are idempotent, so a retried or repeated chunk writes the same items again. The chunk's bytes
are checked against the digest the snapshot recorded in the chunk index (the Map's item), so a
damaged copy never reaches the table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import (
    MigrationError,
    SnapshotCorruptError,
    SnapshotMissingError,
    TransientMigrationError,
)
from tenant_pipeline.migration.item_codec import decode_item
from tenant_pipeline.migration.manifest import snapshot_prefix
from tenant_pipeline.migration.state import MigrationState
from tenant_pipeline.migration.tracing import phase_span


def load(context: MigrationContext, state: MigrationState, chunk: Any) -> dict[str, Any]:
    """`chunk` is one item of the chunk index (`{"key", "count", "sha256"}`), as the Map hands it over."""
    prefix = snapshot_prefix(state.tenant_id, state.migration_id)
    key, digest = _chunk_entry(chunk)
    if not key.startswith(prefix):
        raise SnapshotMissingError(f"chunk {key!r} is not part of migration {state.migration_id}")
    started = context.clock_ns()
    with phase_span(state, "load", **{"migration.chunk": key}) as span:
        body = context.snapshots(state.target_region).read(key)
        if hashlib.sha256(body).hexdigest() != digest:
            raise SnapshotCorruptError(f"chunk {key} does not match its digest in the chunk index")
        items = [decode_item(json.loads(line)) for line in gzip.decompress(body).splitlines() if line]
        written = context.items(state.target_region).put_all(items)
        span.set_attribute("migration.records", written)
    context.ledger().update(
        state.tenant_id,
        state.migration_id,
        {"current_phase": "load", "load_last_end": context.clock_ns() / 1e9},
        add_fields={"load_records": written, "load_chunks": 1},
        set_if_absent={"load_first_start": started / 1e9},
    )
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
