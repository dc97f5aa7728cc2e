"""Phase 5: load. Write one snapshot chunk into the target table (the state machine maps over chunks).

Puts are idempotent, so a retried or repeated chunk writes the same items again. The chunk's bytes
are checked against the digest the manifest recorded, so a damaged copy never reaches the table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import SnapshotCorruptError, SnapshotMissingError
from tenant_pipeline.migration.item_codec import decode_item
from tenant_pipeline.migration.manifest import snapshot_prefix
from tenant_pipeline.migration.state import MigrationState
from tenant_pipeline.migration.tracing import phase_span


def load(context: MigrationContext, state: MigrationState, chunk: str) -> dict[str, Any]:
    prefix = snapshot_prefix(state.tenant_id, state.migration_id)
    if not isinstance(chunk, str) or not chunk.startswith(prefix):
        raise SnapshotMissingError(f"chunk {chunk!r} is not part of migration {state.migration_id}")
    started = context.clock_ns()
    with phase_span(state, "load", **{"migration.chunk": chunk}) as span:
        store = context.snapshots(state.target_region)
        manifest = store.manifest(prefix)
        if manifest is None:
            raise SnapshotMissingError(
                f"the target bucket has no manifest for migration {state.migration_id}"
            )
        info = next((entry for entry in manifest.chunks if entry.key == chunk), None)
        if info is None:
            raise SnapshotMissingError(
                f"chunk {chunk} is not in the manifest of migration {state.migration_id}"
            )
        body = store.read(chunk)
        if hashlib.sha256(body).hexdigest() != info.sha256:
            raise SnapshotCorruptError(f"chunk {chunk} does not match its manifest digest")
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
    return {"chunk": chunk, "records": written}
