"""The demo's export step: one tenant's entities out as CSV, every file checked against its manifest.

`tenantctl export` already verifies each file while it downloads; the demo checks again from the
files on disk (their size and SHA-256, and the records the CSV holds), independently of that code.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tenant_pipeline.export import ROOT_SPAN, ExportFormat, ExportManifest
from tenant_pipeline.export.keys import MANIFEST_FILE_NAME
from tenantctl.commands.demo_checks import Say, expect, wait_for_spans
from tenantctl.export_command import describe, run_export
from tenantctl.output import key_values
from tenantctl.target import Target

_READ_BYTES = 1024 * 1024


def export_step(
    target: Target,
    tenant_id: str,
    stored: Mapping[str, int],
    *,
    out_dir: Path,
    spans_file: Path | None,
    timeout_s: float,
    say: Say,
) -> dict[str, Any]:
    """Export `stored`'s entity types of the tenant; each file must hold exactly what its import stored."""
    entities = list(stored)
    say("", f"exporting {tenant_id}'s {', '.join(entities)} as CSV into {out_dir}")
    result = run_export(
        target,
        tenant_id,
        entities,
        ExportFormat.CSV,
        gzip=False,
        out_dir=out_dir,
        wait=True,
        timeout_s=timeout_s,
    )
    label = f"export {result.job_id}"
    expect(result.status == "SUCCEEDED", f"{label} is {result.status}, expected SUCCEEDED")
    manifest = ExportManifest.from_json((out_dir / MANIFEST_FILE_NAME).read_bytes())
    expect(
        (manifest.tenant_id, manifest.job_id) == (tenant_id, result.job_id),
        f"{label}: the manifest names export {manifest.job_id} of {manifest.tenant_id}",
    )
    expect(
        sorted(manifest.entities) == sorted(entities),
        f"{label}: the manifest lists {manifest.entities}, expected {entities}",
    )
    for entry in manifest.files:
        path = out_dir / entry.file_name
        expect(path.is_file(), f"{label}: {entry.file_name} was not downloaded")
        size, digest = _size_and_sha256(path)
        expect(
            (size, digest) == (entry.bytes, entry.sha256),
            f"{label}: {entry.file_name} has {size} bytes, SHA-256 {digest}; "
            f"the manifest says {entry.bytes} bytes, SHA-256 {entry.sha256}",
        )
        rows = _csv_records(path)
        expected = stored[entry.entity]
        expect(
            entry.record_count == rows == expected,
            f"{label}: {entry.entity} has {rows} records in its file and {entry.record_count} in the "
            f"manifest; its imports stored {expected}",
        )
    say(*describe(result))
    say(
        *key_values(
            {
                "format": manifest.format,
                "files": len(manifest.files),
                "records": manifest.total_records,
                "started_at": manifest.started_at,
                "finished_at": manifest.finished_at,
                "schema versions": ",".join(f"{f.entity}={f.schema_version}" for f in manifest.files),
            }
        )
    )
    say(
        f"✓ export of {tenant_id}: SHA-256 and size of every file match the manifest; "
        + ", ".join(f"{entity} {count}" for entity, count in stored.items())
        + " records, as the imports stored"
    )
    spans = 0
    if spans_file is not None and result.trace_id:
        names = [ROOT_SPAN, *(f"{ROOT_SPAN}.{entity}" for entity in entities)]
        spans = len(wait_for_spans(spans_file, result.trace_id, names, label))
        say(f"✓ export trace {result.trace_id}: {', '.join(names)} ({spans} spans)")
    return {**result.to_dict(), "spans": spans}


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _csv_records(path: Path) -> int:
    """Data records of a CSV file with a header row (quoted line breaks stay inside their record)."""
    with path.open(newline="", encoding="utf-8") as stream:
        return max(0, sum(1 for _ in csv.reader(stream)) - 1)
