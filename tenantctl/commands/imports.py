"""`tenantctl import TENANT ENTITY FILE [--wait]`: upload a file under the tenant's import prefix.

The object carries a `traceparent` in its user metadata, so the job joins the uploader's trace and
`tenantctl trace` shows the upload and the whole job as one trace.
"""

from __future__ import annotations

import argparse
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.errors import UnknownJobError
from tenant_pipeline.imports.keys import job_id_for
from tenant_pipeline.imports.object_version import object_version
from tenant_pipeline.store.jobs import Job, JobStatus
from tenant_pipeline.store.tenants import now_iso
from tenant_pipeline.topology import Resource
from tenantctl.commands.jobs import describe_job
from tenantctl.commands.rejects import rejects_log
from tenantctl.errors import (
    InputFileError,
    InvalidArgumentError,
    JobFailedError,
    JobTimeoutError,
    UploadRejectedError,
)
from tenantctl.job_wait import DEFAULT_FIND_S, DEFAULT_WAIT_S, POLL_INTERVAL_S, follow_job
from tenantctl.output import print_json, print_lines
from tenantctl.progress import ProgressLine, bar
from tenantctl.target import Target
from tenantctl.upload_diagnosis import why_no_job

FAILED_STATUSES = frozenset({JobStatus.FAILED, JobStatus.FAILED_VALIDATION})


@dataclass(frozen=True)
class Upload:
    """Where the file went and the trace its job joins."""

    tenant_id: str
    entity_type: str
    region: str
    bucket: str
    key: str
    trace_id: str
    version_id: str | None
    etag: str
    uploaded_at: str

    @property
    def source_uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def job_id(self) -> str:
        """The job the pipeline makes of this very object version (as `ImportValidator` names it)."""
        return job_id_for(self.bucket, self.key, object_version(self.version_id, None) or self.etag)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        parents=parents,
        help="upload a file to import into a tenant",
        description="Upload FILE to tenants/TENANT/imports/ENTITY/ in the ingest bucket of the tenant's home "
        "region. With --wait, follow the job: exit 0 when it stored its rows (SUCCEEDED or PARTIAL), "
        "1 when it failed.",
    )
    parser.add_argument("tenant_id", metavar="TENANT")
    parser.add_argument("entity_type", metavar="ENTITY", help="entity type, e.g. contacts or orders")
    parser.add_argument(
        "file", type=Path, metavar="FILE", help="CSV, JSON Lines or JSON array; optionally .gz"
    )
    parser.add_argument("--wait", action="store_true", help="follow the job until it finishes")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"how long --wait follows the job (default: {DEFAULT_WAIT_S:.0f})",
    )
    parser.add_argument(
        "--find-timeout",
        type=float,
        default=DEFAULT_FIND_S,
        metavar="SECONDS",
        help="how long --wait waits for the upload's job to appear before it says why there is none "
        f"(default: {DEFAULT_FIND_S:.0f})",
    )
    parser.set_defaults(handler=_import)


def new_traceparent() -> tuple[str, str]:
    """A sampled W3C traceparent for the upload, and its trace id."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


def known_entities() -> list[str] | None:
    """The entity types the pipeline ships, or None when this installation cannot tell."""
    try:
        from tenant_pipeline.entities import entity_names
    except ImportError:
        return None
    return list(entity_names())


def upload(target: Target, tenant_id: str, entity_type: str, path: Path) -> Upload:
    """Check the arguments, then put the file under the tenant's import prefix in its home region."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    entities = known_entities()
    if entities is not None and entity_type not in entities:
        raise InvalidArgumentError(
            f"unknown entity type {entity_type!r} (known: {', '.join(sorted(entities))})"
        )
    tenant = target.find_tenant(tenant_id)
    region = tenant.home_region
    bucket = target.name(Resource.INGEST_BUCKET, region)
    key = f"{topology.IMPORT_KEY_PREFIX}{tenant_id}/imports/{entity_type}/{path.name}"
    traceparent, trace_id = new_traceparent()
    uploaded_at = now_iso()
    s3 = target.clients(region).s3
    try:
        s3.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"traceparent": traceparent}})
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror or exc}") from None
    head = s3.head_object(Bucket=bucket, Key=key)
    return Upload(
        tenant_id,
        entity_type,
        region,
        bucket,
        key,
        trace_id,
        version_id=head.get("VersionId"),
        etag=str(head.get("ETag", "")).strip('"'),
        uploaded_at=uploaded_at,
    )


def find_import_job(target: Target, sent: Upload, find_timeout_s: float) -> Job:
    """The job of this upload's object version; or one line saying why there is none."""
    ledger = target.ledger(sent.region)
    rejects = rejects_log(target, sent.region)
    versions = {sent.version_id, sent.etag} - {None}
    deadline = time.monotonic() + find_timeout_s
    while True:
        try:
            return ledger.get(sent.job_id)
        except UnknownJobError:
            pass
        for rejected in rejects.list(since=sent.uploaded_at):
            if rejected.key == sent.key and rejected.version in versions:
                raise UploadRejectedError(
                    f"no job for {sent.source_uri}: the upload was rejected: {rejected.reason}"
                )
        if time.monotonic() >= deadline:
            reason = why_no_job(target, sent.region, sent.bucket, sent.key)
            raise JobTimeoutError(f"no job for {sent.source_uri} after {find_timeout_s:.0f}s: {reason}")
        time.sleep(POLL_INTERVAL_S)


def wait_for_import(
    target: Target,
    sent: Upload,
    timeout_s: float,
    *,
    find_timeout_s: float = DEFAULT_FIND_S,
    show_progress: bool = True,
) -> Job:
    """Find the upload's job, show rows stored / total while it runs, return it finished."""
    ledger = target.ledger(sent.region)
    line = ProgressLine() if show_progress else None
    try:
        job = find_import_job(target, sent, min(find_timeout_s, timeout_s))
        if line is not None:
            line.show(f"{job.job_id}  {job.status.value}")

        def progress(current: Job) -> None:
            if line is not None:
                line.show(
                    f"{current.job_id}  {bar(current.stored, current.total_rows)}  {current.status.value}"
                )

        return follow_job(ledger, job.job_id, timeout_s=timeout_s, on_progress=progress)
    finally:
        if line is not None:
            line.close()


def _import(args: argparse.Namespace) -> int:
    target: Target = args.target
    sent = upload(target, args.tenant_id, args.entity_type, args.file)
    if not args.wait:
        if args.json:
            print_json({**asdict(sent), "source_uri": sent.source_uri, "job_id": sent.job_id})
        else:
            print(f"uploaded {sent.source_uri} (job {sent.job_id}, trace {sent.trace_id})")
        return 0
    job = wait_for_import(target, sent, args.timeout, find_timeout_s=args.find_timeout)
    if args.json:
        print_json(job.to_dict())
    else:
        print_lines(describe_job(job.to_dict()))
    if job.status in FAILED_STATUSES:
        raise JobFailedError(f"job {job.job_id} {job.status.value}: {job.error or 'see tenantctl report'}")
    return 0
