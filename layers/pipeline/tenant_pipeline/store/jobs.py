"""The jobs ledger: one item per job, plus per import batch a marker and counter shards.

Counting is exactly-once without one hot item per job. A finished batch puts its marker
(`BATCH#{n:06d}`, only if absent) and adds itself to one of `JOB_COUNTER_SHARDS` counter items
(`COUNT#{k}`, k = batch number modulo the shards) in one transaction, so a re-delivered batch, or a
loader that died after writing, can neither count twice nor leave a marker without its counts, and
concurrent batches of one job meet on a counter shard, not on the job item. A batch that went to the
dead-letter queue is added to its shard's `failed` number set while its marker is absent (and why,
to a `FAILED#{n:06d}` item); the success that counts it later (after a redrive) removes it from the
set in the same transaction. Reading a job is one Query over its `COUNT#`, `FAILED#` and `JOB`
items (adjacent in sort order): the counts are summed live. Finishing a job copies the counts it
was judged on onto the job item, so listings (the `jobs-by-tenant` index) show them.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import UnknownJobError
from tenant_pipeline.store.client_errors import as_store_error, error_code, is_conditional_failure
from tenant_pipeline.store.keys import (
    COUNTER_PREFIX,
    FAILED_PREFIX,
    JOB_SK,
    TIMING_PREFIX,
    batch_number_of,
    batch_sk,
    batch_timing_sk,
    check_tenant_id,
    counter_sk,
    failed_batch_sk,
    job_pk,
    migration_pk,
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
JOB_COUNTER_SHARDS = 32
"""Counter items per import job. The capacity model (`capacity.CapacityModel.counter_conflict_share`)
sizes it: at the most batches/s one job can be written at (the table's quota), each shard sees so few
transactions that a conflict is rare, where one counter item would conflict on most tries."""
MAX_REASON_CHARS = 500
"""Longest reason kept for a failed batch."""
SNAPSHOT_FAILED_BATCHES = 1_000
"""Most failed batch numbers a finished job item lists (an item holds at most 400 KB)."""


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
    failure_reasons: dict[int, str] = field(default_factory=dict)
    """Why each failed batch failed (what its last receive raised, or that it was dead-lettered)."""
    validation_leg: int = 1
    """The import validation's leg whose turn it is (a file read over several invocations)."""
    validation_checkpoint: dict[str, Any] | None = None
    """Where the validation's next leg goes on from (`imports.legs.LegCheckpoint`), None before any."""

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
            "failure_reasons": {str(number): reason for number, reason in self.failure_reasons.items()},
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
        checkpoint_json = text("validation_checkpoint_json")
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
            validation_leg=number("validation_leg") or 1,
            validation_checkpoint=json.loads(checkpoint_json) if checkpoint_json else None,
        )


def _key(job_id: str, sk: str = JOB_SK) -> dict[str, Any]:
    return {"pk": {"S": job_pk(job_id)}, "sk": {"S": sk}}


def _migration_key(tenant_id: str, migration_id: str) -> dict[str, Any]:
    return {"pk": {"S": migration_pk(tenant_id)}, "sk": {"S": migration_id}}


def _with_live_counts(job: Job, items: Sequence[dict[str, Any]]) -> Job:
    """The job with the counts its counter shards hold, when it has any (imports); an export's or a
    finished listing's counts are the job item's own."""
    shards = [item for item in items if item["sk"]["S"].startswith(COUNTER_PREFIX)]
    if not shards:
        return job
    failed = sorted(int(n) for shard in shards for n in shard.get("failed", {}).get("NS", []))
    reasons = {
        int(item["sk"]["S"].removeprefix(FAILED_PREFIX)): item.get("reason", {}).get("S", "")
        for item in items
        if item["sk"]["S"].startswith(FAILED_PREFIX)
    }
    return replace(
        job,
        batches_done=sum(int(shard.get("batches_done", {}).get("N", "0")) for shard in shards),
        stored=sum(int(shard.get("stored", {}).get("N", "0")) for shard in shards),
        failed_batches=tuple(failed),
        failure_reasons={number: reasons.get(number, "") for number in failed},
    )


def _leg_is(leg: int) -> tuple[str, dict[str, Any]]:
    """The condition that `leg` is the validation leg whose turn it is (the first has no attribute)."""
    if leg == 1:
        return "attribute_not_exists(validation_leg)", {}
    return "validation_leg = :leg", {":leg": {"N": str(leg)}}


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
        """The job with its live counts: one strongly consistent Query over its counter shards, its
        failed batches and its item (adjacent sort keys)."""
        items: list[dict[str, Any]] = []
        try:
            for page in pages(
                self._client.query,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :job",
                ExpressionAttributeValues={
                    ":pk": {"S": job_pk(job_id)},
                    ":first": {"S": COUNTER_PREFIX},
                    ":job": {"S": JOB_SK},
                },
                ConsistentRead=True,
            ):
                items.extend(page.get("Items", []))
        except ClientError as exc:
            raise as_store_error(exc, "get job") from exc
        if not items or items[-1]["sk"]["S"] != JOB_SK:
            raise UnknownJobError(f"unknown job {job_id!r}")
        return _with_live_counts(Job.from_item(items[-1]), items[:-1])

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

    def claim_validation(self, job_id: str, *, now_epoch: int, lease_until_epoch: int, leg: int = 1) -> bool:
        """Take the job's validation lease for `leg`: only one invocation validates a job at a time,
        and only the leg whose turn it is."""
        turn, turn_values = _leg_is(leg)
        return (
            self._update(
                job_id,
                "claim validation",
                UpdateExpression="SET validation_lease = :until",
                ConditionExpression=(
                    "#status = :running AND fanout_complete = :false AND "
                    f"(attribute_not_exists(validation_lease) OR validation_lease < :now) AND {turn}"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":until": {"N": str(lease_until_epoch)},
                    ":now": {"N": str(now_epoch)},
                    ":running": {"S": JobStatus.RUNNING.value},
                    ":false": {"BOOL": False},
                    **turn_values,
                },
            )
            is not None
        )

    def pass_validation_leg(self, job_id: str, *, leg: int, checkpoint: dict[str, Any]) -> bool:
        """End validation leg `leg`: keep where the next one goes on from, make it the leg whose turn
        it is and give the lease back for it; False if the job is no longer running at that leg."""
        turn, turn_values = _leg_is(leg)
        return (
            self._update(
                job_id,
                "pass validation leg",
                UpdateExpression=(
                    "SET validation_leg = :next, validation_checkpoint_json = :checkpoint "
                    "REMOVE validation_lease"
                ),
                ConditionExpression=f"#status = :running AND {turn}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":next": {"N": str(leg + 1)},
                    ":checkpoint": {"S": json.dumps(checkpoint)},
                    ":running": {"S": JobStatus.RUNNING.value},
                    **turn_values,
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
            "count batch",
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**_key(job_id, batch_sk(batch_number)), "stored": {"N": str(stored)}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(job_id, counter_sk(batch_number % JOB_COUNTER_SHARDS)),
                        # A batch recorded as failed, then redriven, is failed no more.
                        "UpdateExpression": "ADD batches_done :one, #stored :stored DELETE failed :batch",
                        "ExpressionAttributeNames": {"#stored": "stored"},  # a DynamoDB reserved word
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":stored": {"N": str(stored)},
                            ":batch": {"NS": [str(batch_number)]},
                        },
                    }
                },
            ],
        )

    def mark_batch_failed(self, job_id: str, batch_number: int, reason: str) -> bool:
        """Record a batch that went (or is about to go) to the dead-letter queue, with why; False if
        it had been counted as done, or was recorded as failed already (the first reason is kept)."""
        return self._transact_batch(
            "record failed batch",
            [
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": _key(job_id, batch_sk(batch_number)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(job_id, counter_sk(batch_number % JOB_COUNTER_SHARDS)),
                        "UpdateExpression": "ADD failed :batch",
                        "ConditionExpression": "NOT contains(failed, :number)",
                        "ExpressionAttributeValues": {
                            ":batch": {"NS": [str(batch_number)]},
                            ":number": {"N": str(batch_number)},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(job_id, failed_batch_sk(batch_number)),
                        "UpdateExpression": "SET reason = if_not_exists(reason, :reason)",
                        "ExpressionAttributeValues": {":reason": {"S": reason[:MAX_REASON_CHARS]}},
                    }
                },
            ],
        )

    def _transact_batch(self, action: str, operations: list[dict[str, Any]]) -> bool:
        """Run a batch's transaction; False when its first condition (or a put's) says it was done
        before. A conflict with another transaction wrote nothing, so it is tried again."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=operations)  # type: ignore[arg-type]
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise as_store_error(exc, action) from exc
                reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    return False
                if "TransactionConflict" in reasons and attempt + 1 < CONFLICT_ATTEMPTS:
                    time.sleep(random.uniform(0, CONFLICT_BACKOFF_S * 2**attempt))
                    continue
                raise as_store_error(exc, action) from exc
            return True
        raise AssertionError("unreachable: the last attempt returns or raises")

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        finished_at: str,
        expect: Sequence[JobStatus] = (JobStatus.RUNNING,),
        error: str | None = None,
        counts: Job | None = None,
        details: dict[str, Any] | None = None,
    ) -> Job | None:
        """Move the job to a final status if it is in one of `expect`; None if another invocation got
        there first. `counts`: the job as it was judged, whose counts the job item keeps for listings."""
        condition, values = _statuses(expect)
        values |= {":status": {"S": status.value}, ":at": {"S": finished_at}}
        sets = ["#status = :status", "finished_at = :at"]
        removes = []
        names = {"#status": "status", "#error": "error"}
        if error is not None:
            sets.append("#error = :error")
            values[":error"] = {"S": error}
        else:
            removes.append("#error")
        if details is not None:
            sets.append("details_json = :details")
            values[":details"] = {"S": json.dumps(details)}
        if counts is not None:
            sets += ["#stored = :stored", "batches_done = :done"]
            names["#stored"] = "stored"
            values |= {":stored": {"N": str(counts.stored)}, ":done": {"N": str(counts.batches_done)}}
            if counts.failed_batches:
                sets.append("failed_batches = :failed")
                shown = counts.failed_batches[:SNAPSHOT_FAILED_BATCHES]
                values[":failed"] = {"NS": [str(number) for number in shown]}
            else:
                removes.append("failed_batches")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        finished = self._update(
            job_id,
            "finish job",
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        if finished is None or counts is None:
            return finished
        return replace(finished, failed_batches=counts.failed_batches, failure_reasons=counts.failure_reasons)

    def record_progress(self, job_id: str, *, records: int, details: dict[str, Any]) -> bool:
        """A running job's progress (an export's records so far and its files); False if the job is
        no longer running."""
        return (
            self._update(
                job_id,
                "record job progress",
                UpdateExpression="SET total_rows = :n, #stored = :n, details_json = :details",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status", "#stored": "stored"},
                ExpressionAttributeValues={
                    ":n": {"N": str(records)},
                    ":details": {"S": json.dumps(details)},
                    ":running": {"S": JobStatus.RUNNING.value},
                },
            )
            is not None
        )

    # -- migration records (their own key space; `migration.ledger` gives them meaning) ---------------
    def create_migration(self, tenant_id: str, migration_id: str, attributes: Mapping[str, Any]) -> bool:
        """Put a migration record of typed `attributes`; False if one with this id exists."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**_migration_key(tenant_id, migration_id), **attributes},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise as_store_error(exc, "create migration record") from exc
        return True

    def update_migration(
        self,
        tenant_id: str,
        migration_id: str,
        *,
        set_values: Mapping[str, Any] | None = None,
        add_values: Mapping[str, Any] | None = None,
        set_if_absent: Mapping[str, Any] | None = None,
        remove: Sequence[str] = (),
    ) -> bool:
        """SET, ADD, set-if-absent and REMOVE typed attributes of an existing migration record in one
        update; False if there is no such record."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": []}

        def add(verb: str, name: str, value: Any, form: str) -> None:
            ref = f"{len(names)}"
            names[f"#n{ref}"] = name
            if value is not None:
                values[f":v{ref}"] = value
            clauses[verb].append(form.format(name=f"#n{ref}", value=f":v{ref}"))

        for name, value in (set_values or {}).items():
            add("SET", name, value, "{name} = {value}")
        for name, value in (set_if_absent or {}).items():
            add("SET", name, value, "{name} = if_not_exists({name}, {value})")
        for name, value in (add_values or {}).items():
            add("ADD", name, value, "{name} {value}")
        for name in remove:
            add("REMOVE", name, None, "{name}")
        expression = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts)
        if not expression:
            return True
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _migration_key(tenant_id, migration_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._client.update_item(**request)
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise as_store_error(exc, "update migration record") from exc
        return True

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
