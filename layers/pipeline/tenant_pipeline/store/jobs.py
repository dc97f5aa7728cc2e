"""The jobs ledger: one item per job plus one marker item per finished import batch.

Counting is exactly-once by construction: a batch's marker (`BATCH#{n:06d}`, put only if absent) and the
job's counter update (`ADD batches_done 1, stored n`) commit in one transaction, so a re-delivered batch,
or a loader that died after writing, can neither count twice nor leave a marker without its counts.
A batch that exhausted its receives is added to the job's `failed_batches` number set; its later
success (after a redrive) removes it in the same transaction that counts it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import UnknownJobError
from tenant_pipeline.store.client_errors import as_store_error, error_code, is_conditional_failure
from tenant_pipeline.store.keys import (
    JOB_SK,
    TIMING_PREFIX,
    batch_number_of,
    batch_sk,
    batch_timing_sk,
    check_tenant_id,
    job_pk,
    started_key,
)
from tenant_pipeline.store.pages import pages
from tenant_pipeline.topology import JOBS_BY_TENANT_INDEX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


CONFLICT_ATTEMPTS = 6
"""Tries of a batch's counting transaction that conflicts with another batch of the same job."""
CONFLICT_BACKOFF_S = 0.05
"""First retry's upper bound of full-jitter backoff; it doubles with each attempt (about 1.6 s in all)."""


class JobStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED_VALIDATION = "FAILED_VALIDATION"
    FAILED = "FAILED"


class JobKind(StrEnum):
    IMPORT = "import"
    EXPORT = "export"
    MIGRATION = "migration"
    DELETION = "deletion"


@dataclass(frozen=True)
class Job:
    """A job as the ledger holds it. `to_dict()` is the job JSON that `tenantctl` prints."""

    job_id: str
    tenant_id: str
    kind: JobKind
    status: JobStatus
    started_at: str
    entity_type: str | None = None
    source_uri: str | None = None
    format: str | None = None
    total_rows: int | None = None
    stored: int = 0
    invalid: int | None = None
    failed_batches: tuple[int, ...] = ()
    batches_total: int | None = None
    batches_done: int = 0
    fanout_complete: bool = False
    report_uri: str | None = None
    trace_id: str | None = None
    trace: dict[str, Any] | None = None
    started_ns: int | None = None
    validated_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Kind-specific extra fields (exports and migrations keep theirs here), stored as JSON."""

    @property
    def finished(self) -> bool:
        return self.status is not JobStatus.RUNNING

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "tenant_id": self.tenant_id,
            "kind": self.kind.value,
            "entity_type": self.entity_type,
            "status": self.status.value,
            "total_rows": self.total_rows,
            "stored": self.stored,
            "invalid": self.invalid,
            "failed_batches": list(self.failed_batches),
            "report_uri": self.report_uri,
            "trace_id": self.trace_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "source_uri": self.source_uri,
            "format": self.format,
            "batches_total": self.batches_total,
            "batches_done": self.batches_done,
            "validated_at": self.validated_at,
            "details": self.details,
        }

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": job_pk(self.job_id)},
            "sk": {"S": JOB_SK},
            "job_id": {"S": self.job_id},
            "tenant_id": {"S": self.tenant_id},
            "started_key": {"S": started_key(self.started_at, self.job_id)},
            "kind": {"S": self.kind.value},
            "status": {"S": self.status.value},
            "started_at": {"S": self.started_at},
            "stored": {"N": str(self.stored)},
            "batches_done": {"N": str(self.batches_done)},
            "fanout_complete": {"BOOL": self.fanout_complete},
        }
        optional_strings = {
            "entity_type": self.entity_type,
            "source_uri": self.source_uri,
            "format": self.format,
            "report_uri": self.report_uri,
            "trace_id": self.trace_id,
            "validated_at": self.validated_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "trace_json": json.dumps(self.trace) if self.trace is not None else None,
            "details_json": json.dumps(self.details) if self.details else None,
        }
        item.update({name: {"S": value} for name, value in optional_strings.items() if value is not None})
        optional_numbers = {
            "total_rows": self.total_rows,
            "invalid": self.invalid,
            "batches_total": self.batches_total,
            "started_ns": self.started_ns,
        }
        item.update(
            {name: {"N": str(value)} for name, value in optional_numbers.items() if value is not None}
        )
        if self.failed_batches:
            item["failed_batches"] = {"NS": [str(n) for n in self.failed_batches]}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        def number(name: str) -> int | None:
            return int(item[name]["N"]) if name in item else None

        trace_json, details_json = text("trace_json"), text("details_json")
        return cls(
            job_id=item["job_id"]["S"],
            tenant_id=item["tenant_id"]["S"],
            kind=JobKind(item["kind"]["S"]),
            status=JobStatus(item["status"]["S"]),
            started_at=item["started_at"]["S"],
            entity_type=text("entity_type"),
            source_uri=text("source_uri"),
            format=text("format"),
            total_rows=number("total_rows"),
            stored=number("stored") or 0,
            invalid=number("invalid"),
            failed_batches=tuple(sorted(int(n) for n in item.get("failed_batches", {}).get("NS", []))),
            batches_total=number("batches_total"),
            batches_done=number("batches_done") or 0,
            fanout_complete=bool(item.get("fanout_complete", {}).get("BOOL", False)),
            report_uri=text("report_uri"),
            trace_id=text("trace_id"),
            trace=json.loads(trace_json) if trace_json else None,
            started_ns=number("started_ns"),
            validated_at=text("validated_at"),
            finished_at=text("finished_at"),
            error=text("error"),
            details=json.loads(details_json) if details_json else {},
        )


def _key(job_id: str, sk: str = JOB_SK) -> dict[str, Any]:
    return {"pk": {"S": job_pk(job_id)}, "sk": {"S": sk}}


def _statuses(values: Iterable[JobStatus]) -> tuple[str, dict[str, Any]]:
    """`#status IN (...)` with its values."""
    names = {f":st{i}": {"S": JobStatus(status).value} for i, status in enumerate(values)}
    return f"#status IN ({', '.join(names)})", names


class JobsLedger:
    """Adapter over the jobs table."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    # -- reading -------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        try:
            reply = self._client.get_item(TableName=self._table, Key=_key(job_id), ConsistentRead=True)
        except ClientError as exc:
            raise as_store_error(exc, "get job") from exc
        if "Item" not in reply:
            raise UnknownJobError(f"unknown job {job_id!r}")
        return Job.from_item(reply["Item"])

    def list_for_tenant(self, tenant_id: str, limit: int = 50) -> list[Job]:
        """The tenant's jobs, newest first (the index is eventually consistent). A malformed tenant id
        raises `InvalidTenantIdError` (an empty one would otherwise reach DynamoDB as a bad key)."""
        check_tenant_id(tenant_id)
        jobs: list[Job] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": JOBS_BY_TENANT_INDEX.name,
            "KeyConditionExpression": "tenant_id = :tenant",
            "ExpressionAttributeValues": {":tenant": {"S": tenant_id}},
            "ScanIndexForward": False,
        }
        try:
            while len(jobs) < limit:
                page = self._client.query(**kwargs, Limit=limit - len(jobs))
                jobs.extend(Job.from_item(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as exc:
            raise as_store_error(exc, "list jobs") from exc
        return jobs[:limit]

    def batches_done(self, job_id: str) -> list[int]:
        """Numbers of the job's batches whose markers exist."""
        numbers: list[int] = []
        try:
            for page in pages(
                self._client.query,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :batch)",
                ExpressionAttributeValues={":pk": {"S": job_pk(job_id)}, ":batch": {"S": batch_sk(0)[:6]}},
                ProjectionExpression="sk",
                ConsistentRead=True,
            ):
                numbers.extend(batch_number_of(item["sk"]["S"]) for item in page.get("Items", []))
        except ClientError as exc:
            raise as_store_error(exc, "list job batches") from exc
        return numbers

    # -- writing -------------------------------------------------------------------------------
    def create(self, job: Job) -> bool:
        """Put a new job; False if a job with this id already exists (a duplicate event)."""
        try:
            self._client.put_item(
                TableName=self._table, Item=job.to_item(), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise as_store_error(exc, "create job") from exc
        return True

    def _update(self, job_id: str, action: str, **kwargs: Any) -> Job | None:
        """A conditional update returning the new job, or None when the condition failed."""
        try:
            reply = self._client.update_item(
                TableName=self._table, Key=_key(job_id), ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise as_store_error(exc, action) from exc
        return Job.from_item(reply["Attributes"])

    def claim_validation(self, job_id: str, *, now_epoch: int, lease_until_epoch: int) -> bool:
        """Take the job's validation lease: only one invocation validates a job at a time."""
        return (
            self._update(
                job_id,
                "claim validation",
                UpdateExpression="SET validation_lease = :until",
                ConditionExpression=(
                    "#status = :running AND fanout_complete = :false AND "
                    "(attribute_not_exists(validation_lease) OR validation_lease < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":until": {"N": str(lease_until_epoch)},
                    ":now": {"N": str(now_epoch)},
                    ":running": {"S": JobStatus.RUNNING.value},
                    ":false": {"BOOL": False},
                },
            )
            is not None
        )

    def release_validation(self, job_id: str) -> None:
        """Give the lease back after a failed attempt, so the retry need not wait for it to expire."""
        self._update(
            job_id,
            "release validation",
            UpdateExpression="REMOVE validation_lease",
            ConditionExpression="attribute_exists(pk)",
        )

    def record_validation(
        self,
        job_id: str,
        *,
        total_rows: int,
        invalid: int,
        batches_total: int,
        report_uri: str | None,
        validated_at: str,
        details: dict[str, Any] | None = None,
    ) -> Job | None:
        """Fix the validation results (idempotent: a re-run of validation sets the same values).

        `details` keeps what the job read the file with (for an import, the header names it mapped)."""
        values: dict[str, Any] = {
            ":total": {"N": str(total_rows)},
            ":invalid": {"N": str(invalid)},
            ":batches": {"N": str(batches_total)},
            ":at": {"S": validated_at},
            ":running": {"S": JobStatus.RUNNING.value},
        }
        update = "SET total_rows = :total, invalid = :invalid, batches_total = :batches, validated_at = :at"
        if report_uri is not None:
            update += ", report_uri = :report"
            values[":report"] = {"S": report_uri}
        if details:
            update += ", details_json = :details"
            values[":details"] = {"S": json.dumps(details)}
        return self._update(
            job_id,
            "record validation",
            UpdateExpression=update,
            ConditionExpression="#status = :running",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def mark_fanout_complete(self, job_id: str) -> None:
        """Every batch message has been sent; a later duplicate event has nothing to do."""
        self._update(
            job_id,
            "mark fan-out complete",
            UpdateExpression="SET fanout_complete = :true REMOVE validation_lease",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )

    def mark_batch_done(self, job_id: str, batch_number: int, stored: int) -> bool:
        """Count a stored batch exactly once; False if it was already counted."""
        return self._transact_batch(
            job_id,
            batch_number,
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {**_key(job_id, batch_sk(batch_number)), "stored": {"N": str(stored)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            update="ADD batches_done :one, #stored :stored DELETE failed_batches :batch",
            values={":one": {"N": "1"}, ":stored": {"N": str(stored)}, ":batch": {"NS": [str(batch_number)]}},
        )

    def mark_batch_failed(self, job_id: str, batch_number: int) -> bool:
        """Record a batch that exhausted its receives; False if it had been counted as done."""
        return self._transact_batch(
            job_id,
            batch_number,
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": _key(job_id, batch_sk(batch_number)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            update="ADD failed_batches :batch",
            values={":batch": {"NS": [str(batch_number)]}},
        )

    def _transact_batch(
        self,
        job_id: str,
        batch_number: int,
        marker_op: dict[str, Any],
        *,
        update: str,
        values: dict[str, Any],
    ) -> bool:
        job_op = {
            "Update": {
                "TableName": self._table,
                "Key": _key(job_id),
                "UpdateExpression": update,
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": values,
            }
        }
        if "#stored" in update:  # `stored` is a DynamoDB reserved word
            job_op["Update"]["ExpressionAttributeNames"] = {"#stored": "stored"}
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=[marker_op, job_op])  # type: ignore[list-item]
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise as_store_error(exc, "mark batch") from exc
                reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed":
                    raise UnknownJobError(f"unknown job {job_id!r}") from None
                if self._marker_exists(job_id, batch_number):
                    return False
                if "TransactionConflict" in reasons and attempt + 1 < CONFLICT_ATTEMPTS:
                    # Another batch of the same job committed first: nothing was written, so try again.
                    time.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2**attempt))
                    continue
                raise as_store_error(exc, "mark batch") from exc
            return True
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _marker_exists(self, job_id: str, batch_number: int) -> bool:
        try:
            reply = self._client.get_item(
                TableName=self._table, Key=_key(job_id, batch_sk(batch_number)), ConsistentRead=True
            )
        except ClientError as exc:
            raise as_store_error(exc, "get batch marker") from exc
        return "Item" in reply

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        finished_at: str,
        expect: Sequence[JobStatus] = (JobStatus.RUNNING,),
        error: str | None = None,
        batches_done: int | None = None,
        require_no_failed_batches: bool = False,
        details: dict[str, Any] | None = None,
    ) -> Job | None:
        """Move the job to a final status if it is in one of `expect` (and, when given, has exactly
        `batches_done` batches done); None if another invocation got there first."""
        condition, values = _statuses(expect)
        values |= {":status": {"S": status.value}, ":at": {"S": finished_at}}
        update = "SET #status = :status, finished_at = :at"
        if error is not None:
            update += ", #error = :error"
            values[":error"] = {"S": error}
        if details is not None:
            update += ", details_json = :details"
            values[":details"] = {"S": json.dumps(details)}
        if error is None:
            update += " REMOVE #error"
        if batches_done is not None:
            condition += " AND batches_done = :done"
            values[":done"] = {"N": str(batches_done)}
        if require_no_failed_batches:
            condition += " AND attribute_not_exists(failed_batches)"
        return self._update(
            job_id,
            "finish job",
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status", "#error": "error"},
            ExpressionAttributeValues=values,
        )

    # -- timings (for `tenantctl explain`) ------------------------------------------------------
    def record_phase_timings(self, job_id: str, timings: dict[str, Any]) -> None:
        """Keep where the job's own invocations spent their time (for an import, the validator's)."""
        self._update(
            job_id,
            "record phase timings",
            UpdateExpression="SET phase_timings_json = :timings",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":timings": {"S": json.dumps(timings)}},
        )

    def record_batch_timing(self, job_id: str, batch_number: int, timing: dict[str, Any]) -> None:
        """Keep where one batch's time went; a later delivery of the same batch replaces it."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_key(job_id, batch_timing_sk(batch_number)),
                    "timing_json": {"S": json.dumps(timing)},
                },
            )
        except ClientError as exc:
            raise as_store_error(exc, "record batch timing") from exc

    def timings(self, job_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(the job's phase timings, every batch's timing), as recorded; empty when none were."""
        phases: dict[str, Any] = {}
        batches: list[dict[str, Any]] = []
        try:
            job_item = self._client.get_item(
                TableName=self._table,
                Key=_key(job_id),
                ProjectionExpression="phase_timings_json",
                ConsistentRead=True,
            ).get("Item", {})
            if "phase_timings_json" in job_item:
                phases = json.loads(job_item["phase_timings_json"]["S"])
            for page in pages(
                self._client.query,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :timing)",
                ExpressionAttributeValues={":pk": {"S": job_pk(job_id)}, ":timing": {"S": TIMING_PREFIX}},
                ConsistentRead=True,
            ):
                batches.extend(json.loads(item["timing_json"]["S"]) for item in page.get("Items", []))
        except ClientError as exc:
            raise as_store_error(exc, "read job timings") from exc
        return phases, batches
