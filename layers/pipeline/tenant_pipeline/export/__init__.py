"""Tenant exports: each entity type streamed from the tenant store into one S3 file, plus a manifest.

- `ExportRunner`: the job (start, per-entity work, continuation in a fresh invocation, manifest, finish).
- `ExportRequest`: the direct-invoke payload `{"tenant_id", "entities", "format", "gzip"?, "job_id"?}`.
- `serialiser_for`: CSV (schema column order, formula-injection escaping), JSON Lines, JSON array.
- `StreamingUpload`: multipart upload in constant memory with SHA-256 and byte count, optional gzip.
- `ExportManifest` / `ManifestFile`: `manifest.json`, and the check of a downloaded file against it.
"""

from __future__ import annotations

from tenant_pipeline.export.abandoned import (
    AbandonedContinuation,
    ContinuationAbandonedError,
    is_invocation_record,
)
from tenant_pipeline.export.continuation import Continuation, ContinuationFailedError, LambdaContinuation
from tenant_pipeline.export.errors import (
    ChecksumMismatchError,
    ExportError,
    ExportNotFoundError,
    InvalidExportRequestError,
    UploadFailedError,
)
from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.export.job_record import ExportJobs
from tenant_pipeline.export.keys import MANIFEST_FILE_NAME, export_key, export_prefix, manifest_key
from tenant_pipeline.export.manifest import ExportManifest, ManifestFile
from tenant_pipeline.export.presign import presigned_url
from tenant_pipeline.export.request import CONTINUE_FIELD, ExportRequest, new_job_id
from tenant_pipeline.export.runner import DEFAULT_RESERVE_MS, ROOT_SPAN, ExportOutcome, ExportRunner
from tenant_pipeline.export.serialisers import serialiser_for
from tenant_pipeline.export.upload import StreamingUpload, UploadResult
from tenant_pipeline.formula import escape_formula, unescape_formula

__all__ = [
    "CONTINUE_FIELD",
    "DEFAULT_RESERVE_MS",
    "MANIFEST_FILE_NAME",
    "ROOT_SPAN",
    "AbandonedContinuation",
    "ChecksumMismatchError",
    "Continuation",
    "ContinuationAbandonedError",
    "ContinuationFailedError",
    "ExportError",
    "ExportFormat",
    "ExportJobs",
    "ExportManifest",
    "ExportNotFoundError",
    "ExportOutcome",
    "ExportRequest",
    "ExportRunner",
    "InvalidExportRequestError",
    "LambdaContinuation",
    "ManifestFile",
    "StreamingUpload",
    "UploadFailedError",
    "UploadResult",
    "escape_formula",
    "export_key",
    "export_prefix",
    "is_invocation_record",
    "manifest_key",
    "new_job_id",
    "presigned_url",
    "serialiser_for",
    "unescape_formula",
]
