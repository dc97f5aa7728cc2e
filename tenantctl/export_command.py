"""`tenantctl export TENANT --entities contacts,orders --format csv --out DIR [--gzip] [--wait] [--json]`.

Invokes the export function of the tenant's home region (its name is published in SSM, on AWS and on the
local AWS alike), then downloads each file into DIR as `<entity>.<format>[.gz]` with `manifest.json`,
checking every file's size and SHA-256 against the manifest while it streams to disk. A large export
continues in further invocations of the function: `--wait` follows the job to the end; without it the
command prints the job id, and `--job JOB_ID` downloads the finished export later.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenant_pipeline.entities import entity_names
from tenant_pipeline.export import (
    ChecksumMismatchError,
    ExportFormat,
    ExportManifest,
    ManifestFile,
    export_prefix,
)
from tenant_pipeline.export.keys import MANIFEST_FILE_NAME, manifest_key
from tenant_pipeline.store.jobs import Job, JobKind, JobStatus
from tenant_pipeline.topology import Resource
from tenantctl.errors import InvalidArgumentError, JobFailedError, TenantctlError
from tenantctl.job_wait import follow_job
from tenantctl.output import print_json, print_lines, table
from tenantctl.target import Target

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_WAIT_S = 3600.0
_PLAIN_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")
_READ_BYTES = 1024 * 1024


class ExportInvokeError(TenantctlError):
    """The export function refused the request or failed; `str()` is its reason."""


class UnsafeManifestError(TenantctlError):
    """An export's manifest names a file that must not be written (a path, or the manifest itself)."""


class ExportNotFinishedError(TenantctlError):
    """The export job is still running, so there is nothing to download yet."""


@dataclass(frozen=True)
class DownloadedFile:
    """A file written into the output folder and checked against the manifest."""

    entry: ManifestFile
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {**self.entry.to_dict(), "path": str(self.path), "verified": True}


@dataclass(frozen=True)
class ExportResult:
    """What `tenantctl export` did: the job, and the files it downloaded (none while still running)."""

    job_id: str
    tenant_id: str
    status: str
    trace_id: str | None
    out_dir: Path | None
    files: tuple[DownloadedFile, ...] = ()
    manifest_path: Path | None = None

    @property
    def total_records(self) -> int:
        return sum(downloaded.entry.record_count for downloaded in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "tenant_id": self.tenant_id,
            "status": self.status,
            "trace_id": self.trace_id,
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "manifest": str(self.manifest_path) if self.manifest_path else None,
            "total_records": self.total_records,
            "files": [downloaded.to_dict() for downloaded in self.files],
        }


# -- the command line ----------------------------------------------------------------------------
def register(subparsers: Any, parents: list[argparse.ArgumentParser] | None = None) -> None:
    parser = subparsers.add_parser(
        "export",
        parents=parents or [],
        help="export a tenant's data to files with a checksummed manifest",
        description="Export TENANT's entity types into DIR, one file per entity (`<entity>.<format>[.gz]`) "
        "plus manifest.json, each file checked against the manifest's SHA-256. Exit 0 when every file "
        "was downloaded and verified (or, without --wait, when the export is still running).",
    )
    parser.add_argument("tenant_id", metavar="TENANT")
    parser.add_argument(
        "--entities",
        default=None,
        metavar="LIST",
        help="comma-separated entity types (default: every entity type)",
    )
    parser.add_argument(
        "--format",
        dest="export_format",
        choices=[fmt.value for fmt in ExportFormat],
        default="csv",
        help="file format (default: csv)",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to download into")
    parser.add_argument("--gzip", action="store_true", help="gzip-compress each file")
    parser.add_argument("--wait", action="store_true", help="follow a long export until it finishes")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"how long --wait waits (default: {DEFAULT_WAIT_S:.0f})",
    )
    parser.add_argument(
        "--job", dest="job_id", metavar="JOB_ID", help="download the files of an earlier export"
    )
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    target: Target = args.target
    if args.job_id:
        result = download_job(target, args.tenant_id, args.job_id, args.out)
    else:
        result = run_export(
            target,
            args.tenant_id,
            parse_entities(args.entities),
            ExportFormat(args.export_format),
            gzip=args.gzip,
            out_dir=args.out,
            wait=args.wait,
            timeout_s=args.timeout,
        )
    if args.json:
        print_json(result.to_dict())
    else:
        print_lines(describe(result))
    return 0


def parse_entities(raw: str | None) -> list[str]:
    known = entity_names()
    if raw is None:
        return known
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        shown = ", ".join(unknown) or "(none)"
        raise InvalidArgumentError(f"unknown entity type {shown} (known: {', '.join(known)})")
    return names


def describe(result: ExportResult) -> list[str]:
    lines = [f"export {result.job_id}  {result.status}  trace {result.trace_id or '-'}"]
    if not result.files:
        if result.status == JobStatus.RUNNING.value:
            lines.append(
                f"still running; `tenantctl export {result.tenant_id} --job {result.job_id} --out DIR` "
                "downloads it once finished"
            )
        return lines
    rows = [
        {
            "entity": downloaded.entry.entity,
            "file": str(downloaded.path),
            "records": downloaded.entry.record_count,
            "bytes": downloaded.entry.bytes,
            "sha256": downloaded.entry.sha256[:16] + "…",
        }
        for downloaded in result.files
    ]
    columns = (("entity", "ENTITY"), ("file", "FILE"), ("records", "RECORDS"), ("bytes", "BYTES"))
    lines.extend(table(rows, (*columns, ("sha256", "SHA-256 (verified)"))))
    lines.append(f"{result.total_records} records; manifest {result.manifest_path}")
    return lines


# -- the work --------------------------------------------------------------------------------
def run_export(
    target: Target,
    tenant_id: str,
    entities: list[str],
    fmt: ExportFormat,
    *,
    gzip: bool,
    out_dir: Path,
    wait: bool,
    timeout_s: float = DEFAULT_WAIT_S,
) -> ExportResult:
    """Start the export in the tenant's home region, wait if asked, then download and verify its files."""
    region = target.find_tenant(tenant_id).home_region
    trace_id = secrets.token_hex(16)
    payload = {
        "tenant_id": tenant_id,
        "entities": entities,
        "format": fmt.value,
        "gzip": gzip,
        "request_id": secrets.token_hex(16),
        "trace": {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
    }
    outcome = invoke_export(target, region, payload)
    job_id = str(outcome["job_id"])
    status = JobStatus(outcome["status"])
    if status is JobStatus.RUNNING and wait:
        job = follow_job(target.ledger(region), job_id, timeout_s=timeout_s)
        status, outcome["error"] = job.status, job.error
    if status is JobStatus.FAILED:
        raise JobFailedError(f"export {job_id} FAILED: {outcome.get('error') or 'see tenantctl job'}")
    if status is JobStatus.RUNNING:
        return ExportResult(job_id, tenant_id, status.value, outcome.get("trace_id"), None)
    return download_job(target, tenant_id, job_id, out_dir, region=region)


def invoke_export(target: Target, region: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One synchronous invoke of the export function; its error, if any, becomes `ExportInvokeError`.

    The client waits out the function's whole timeout and never resends the invoke (a resend would
    start the same job a second time while the first runs).
    """
    function = target.name(Resource.EXPORT_FUNCTION, region)
    reply = target.clients(region).lambda_.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
    )
    body = reply["Payload"].read()
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {"errorMessage": body.decode("utf-8", "replace")}
    if reply.get("FunctionError") or not isinstance(data, dict) or "status" not in data:
        message = data.get("errorMessage") if isinstance(data, dict) else None
        raise ExportInvokeError(f"export refused: {message or 'the export function failed'}")
    return data


def download_job(
    target: Target, tenant_id: str, job_id: str, out_dir: Path, *, region: str | None = None
) -> ExportResult:
    """Download a finished export's files and manifest into `out_dir`, verifying each file."""
    region = region or target.find_tenant(tenant_id).home_region
    job = target.ledger(region).get(job_id)
    if job.tenant_id != tenant_id or job.kind is not JobKind.EXPORT:
        raise InvalidArgumentError(f"{job_id} is not an export of tenant {tenant_id!r}")
    if job.status is JobStatus.RUNNING:
        raise ExportNotFinishedError(f"export {job_id} is still running; try again with --wait")
    if job.status is not JobStatus.SUCCEEDED:
        raise JobFailedError(f"export {job_id} {job.status.value}: {job.error or 'see tenantctl job'}")
    s3 = target.clients(region).s3
    bucket = _bucket_of(target, job, region)
    manifest_raw = s3.get_object(Bucket=bucket, Key=manifest_key(tenant_id, job_id))["Body"].read()
    manifest = ExportManifest.from_json(manifest_raw)
    if manifest.tenant_id != tenant_id or manifest.job_id != job_id:
        raise ChecksumMismatchError(f"the manifest of {job_id} names another export")
    check_file_names(manifest.files)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = tuple(
        download_file(s3, bucket, entry, out_dir, prefix=export_prefix(tenant_id, job_id))
        for entry in manifest.files
    )
    manifest_path = out_dir / MANIFEST_FILE_NAME
    manifest_path.write_bytes(manifest_raw)
    return ExportResult(job_id, tenant_id, job.status.value, job.trace_id, out_dir, files, manifest_path)


def download_file(
    s3: S3Client, bucket: str, entry: ManifestFile, out_dir: Path, *, prefix: str
) -> DownloadedFile:
    """Stream one file to `out_dir/<file_name>`, hashing as it goes; a mismatch leaves no file behind."""
    # The manifest is data from the bucket: never let it name a path outside the output folder or a key
    # outside this export.
    check_file_names([entry])
    if not entry.key.startswith(prefix):
        raise UnsafeManifestError(f"the manifest names a file outside this export: {entry.key[:200]!r}")
    path = out_dir / entry.file_name
    partial = path.with_name(path.name + ".part")
    digest = hashlib.sha256()
    size = 0
    body = s3.get_object(Bucket=bucket, Key=entry.key)["Body"]
    try:
        with partial.open("wb") as out:
            while chunk := body.read(_READ_BYTES):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if size != entry.bytes or digest.hexdigest() != entry.sha256:
            raise ChecksumMismatchError(
                f"{entry.file_name}: got {size} bytes with SHA-256 {digest.hexdigest()}, "
                f"the manifest says {entry.bytes} bytes with SHA-256 {entry.sha256}"
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return DownloadedFile(entry, path)


def check_file_names(entries: Sequence[ManifestFile]) -> None:
    """Every file the manifest names is a plain, distinct file name, and none is the manifest itself."""
    seen: set[str] = set()
    for entry in entries:
        name = entry.file_name
        if not isinstance(name, str) or not _PLAIN_FILE_NAME.fullmatch(name) or name in (".", ".."):
            raise UnsafeManifestError(
                f"the manifest names {str(name)[:200]!r}, which is not a plain file name; nothing downloaded"
            )
        if name == MANIFEST_FILE_NAME:
            raise UnsafeManifestError(
                f"the manifest names a data file {name!r}, which would overwrite the manifest; "
                "nothing downloaded"
            )
        if name in seen:
            raise UnsafeManifestError(f"the manifest names {name!r} twice; nothing downloaded")
        seen.add(name)


def _bucket_of(target: Target, job: Job, region: str) -> str:
    bucket = job.details.get("bucket")
    return str(bucket) if bucket else target.name(Resource.EXPORT_BUCKET, region)
