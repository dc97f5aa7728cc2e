"""Export jobs in the jobs ledger (`kind: export`), so `tenantctl job` shows them like any other job.

The ledger creates, advances and finishes jobs (it writes every item of the jobs table); this module
says what an export's job holds: its progress after each file (records so far and the files written)
and its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tenant_pipeline.export.manifest import ExportManifest, ManifestFile
from tenant_pipeline.store.jobs import Job, JobKind, JobsLedger, JobStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def export_details(
    *,
    entities: Sequence[str],
    gzip: bool,
    bucket: str,
    files: Sequence[ManifestFile],
    manifest_key: str | None = None,
) -> dict[str, Any]:
    """The export-specific fields of a job's `details`."""
    details: dict[str, Any] = {
        "entities": list(entities),
        "gzip": gzip,
        "bucket": bucket,
        "files": [entry.to_dict() for entry in files],
    }
    if manifest_key is not None:
        details["manifest_key"] = manifest_key
    return details


class ExportJobs:
    """Creates, advances and finishes export jobs."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.ledger = JobsLedger(table_name, client)

    def get(self, job_id: str) -> Job:
        return self.ledger.get(job_id)

    def create(self, job: Job) -> bool:
        """False when a job with this id exists already (a repeated request)."""
        if job.kind is not JobKind.EXPORT:
            raise ValueError(f"not an export job: {job.kind}")
        return self.ledger.create(job)

    def record_progress(self, job_id: str, *, records: int, details: dict[str, Any]) -> bool:
        """Store records exported so far and the files written; False if the job is no longer running."""
        return self.ledger.record_progress(job_id, records=records, details=details)

    def succeed(self, manifest: ExportManifest, *, details: dict[str, Any]) -> Job | None:
        """Mark the job SUCCEEDED; None if another invocation finished it first."""
        self.record_progress(manifest.job_id, records=manifest.total_records, details=details)
        return self.ledger.finish(
            manifest.job_id, JobStatus.SUCCEEDED, finished_at=manifest.finished_at, details=details
        )

    def fail(self, job_id: str, *, error: str, finished_at: str, details: dict[str, Any]) -> Job | None:
        return self.ledger.finish(
            job_id, JobStatus.FAILED, finished_at=finished_at, error=error, details=details
        )
