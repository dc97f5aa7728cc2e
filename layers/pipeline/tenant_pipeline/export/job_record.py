"""Export jobs in the jobs ledger (`kind: export`), so `tenantctl job` shows them like any other job.

The ledger creates and finishes jobs; an export also records its progress after each file (records so
far and the files written), an update the ledger has no verb for, so it is made here on the ledger's
own table and client, with `ClientError` mapped the way the store adapters map it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.export.manifest import ExportManifest, ManifestFile
from tenant_pipeline.store.client_errors import as_store_error, is_conditional_failure
from tenant_pipeline.store.jobs import Job, JobKind, JobsLedger, JobStatus
from tenant_pipeline.store.keys import JOB_SK, job_pk

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
        self._table = table_name
        self._client = client

    def get(self, job_id: str) -> Job:
        return self.ledger.get(job_id)

    def create(self, job: Job) -> bool:
        """False when a job with this id exists already (a repeated request)."""
        if job.kind is not JobKind.EXPORT:
            raise ValueError(f"not an export job: {job.kind}")
        return self.ledger.create(job)

    def record_progress(self, job_id: str, *, records: int, details: dict[str, Any]) -> bool:
        """Store records exported so far and the files written; False if the job is no longer running."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": job_pk(job_id)}, "sk": {"S": JOB_SK}},
                UpdateExpression="SET total_rows = :n, #stored = :n, details_json = :details",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status", "#stored": "stored"},
                ExpressionAttributeValues={
                    ":n": {"N": str(records)},
                    ":details": {"S": json.dumps(details)},
                    ":running": {"S": JobStatus.RUNNING.value},
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise as_store_error(exc, "record export progress") from exc
        return True

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
