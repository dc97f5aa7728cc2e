"""The loader: one batch message in, its rows stored, the batch counted once, the job finished.

Crash windows. Items are written before the batch is marked; a loader that dies in between leaves the
message to be redelivered, which rewrites the same items (idempotent puts) and then marks the batch.
Marking and counting commit in one transaction (`JobsLedger.mark_batch_done`), and a batch already
marked is not counted again.

Poison batches. A loader cannot know that a receive is the last one, except by the count SQS gives:
when a batch fails on a receive with `ApproximateReceiveCount >= maxReceiveCount`, the next failure
would move it to the dead-letter queue, so the loader records the batch as failed on the job, with
what it raised, before failing it (the count is approximate: a batch may be recorded and yet be
received once more; a later success removes it again). A batch whose last receive never ran this
code (a timeout, a crashed sandbox) is recorded by the dead-letter reconciler
(`imports.dead_letters`). When every batch is done or failed, the job is FAILED with the batch
numbers; `tenantctl redrive` re-sends them, and a redriven batch's success finishes the job as
SUCCEEDED or PARTIAL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Status, StatusCode

from tenant_pipeline.entities import load_entity
from tenant_pipeline.errors import BatchMessageError
from tenant_pipeline.imports.batch_message import BatchMessage, check_rows
from tenant_pipeline.imports.completion import JobCompleter
from tenant_pipeline.imports.items import AttributePlan
from tenant_pipeline.imports.timings import BatchTiming, sent_ns_of
from tenant_pipeline.imports.validate import source_bucket
from tenant_pipeline.store.jobs import Job, JobsLedger
from tenant_pipeline.store.objects import ObjectStore
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.topology import Resource
from tenant_telemetry import get_tracer, pipeline_metrics
from tenant_telemetry.metrics import ImportStatus

if TYPE_CHECKING:
    from tenant_pipeline.aws import AwsClients
    from tenant_pipeline.settings import PipelineSettings

logger = logging.getLogger(__name__)
BATCH_SPAN = "data.import.batch"


@dataclass(frozen=True)
class LoadResult:
    job_id: str
    batch_number: int
    rows: int
    counted: bool
    """False when the batch had already been counted (a redelivery)."""
    write_calls: int
    write_retries: int


class BatchLoader:
    """Stores batches of validated rows in the tenant store."""

    def __init__(
        self,
        *,
        jobs: JobsLedger,
        store: TenantDataStore,
        objects: ObjectStore,
        completer: JobCompleter,
        max_receives: int,
    ) -> None:
        self._jobs = jobs
        self._store = store
        self._objects = objects
        self._completer = completer
        self._max_receives = max_receives
        self._plans: dict[tuple[str, tuple[str, ...]], AttributePlan] = {}

    @classmethod
    def from_settings(
        cls,
        settings: PipelineSettings,
        clients: AwsClients,
        *,
        store_factory: Callable[..., TenantDataStore] = TenantDataStore,
    ) -> BatchLoader:
        jobs = JobsLedger(settings.name(Resource.JOBS_TABLE), clients.dynamodb)
        return cls(
            jobs=jobs,
            store=store_factory(settings.name(Resource.TENANT_DATA_TABLE), clients.dynamodb),
            objects=ObjectStore(clients.s3),
            completer=JobCompleter(jobs, max_receives=settings.batches_max_receive_count),
            max_receives=settings.batches_max_receive_count,
        )

    def load(
        self,
        body: str | bytes,
        *,
        receive_count: int = 1,
        parent: Context | None = None,
        deadline: float | None = None,
        sent_timestamp_ms: str | int | None = None,
    ) -> LoadResult:
        """Load one batch message; `deadline` is on `time.monotonic`. Raises if the batch must be
        retried (SQS redelivers it; after its last receive it is recorded as failed on the job)."""
        delivery = _Delivery(sent_ns_of(sent_timestamp_ms), time.time_ns(), receive_count)
        message = BatchMessage.parse(body)
        header = message.header
        # The batch span is the job's (parent: the job's root, from the message); it links back to the
        # invocation's span that received it.
        current = trace.get_current_span().get_span_context()
        links = [Link(current)] if current.is_valid else []
        with get_tracer().start_as_current_span(BATCH_SPAN, context=parent, links=links) as span:
            span.set_attributes(
                {
                    "tenant.id": header.tenant_id,
                    "import.job_id": header.job_id,
                    "import.entity_type": header.entity,
                    "import.batch_number": header.batch_number,
                    "import.batch_size": header.row_count,
                    "messaging.message.delivery_count": receive_count,
                }
            )
            job: Job | None = None
            try:
                job = self._jobs.get(header.job_id)
                result = self._load(job, message, deadline, delivery)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc) or type(exc).__name__))
                if job is not None and receive_count >= self._max_receives:
                    self._record_failure(job, header.batch_number, exc)
                raise
            span.set_attributes(
                {
                    "import.redelivered": not result.counted,
                    "import.write_calls": result.write_calls,
                    "import.write_retries": result.write_retries,
                }
            )
        return result

    def _load(
        self, job: Job, message: BatchMessage, deadline: float | None, delivery: _Delivery
    ) -> LoadResult:
        header = message.header
        if job.tenant_id != header.tenant_id or job.entity_type != header.entity:
            raise BatchMessageError(f"batch {header.batch_number} does not belong to job {job.job_id}")
        rows = message.rows
        if rows is None:
            bucket, key = message.claim_check or ("", "")
            if bucket != source_bucket(job):
                raise BatchMessageError(f"claim check bucket {bucket!r} is not the job's bucket")
            rows = check_rows(header, orjson.loads(self._objects.get_bytes(bucket, key)))
        items = self._plan(header.entity, header.columns).items(
            header.tenant_id, header.entity, rows, header.shard_count
        )
        write_started_ns = time.time_ns()
        stats = self._store.put_items(items, deadline=deadline)
        write_ended_ns = time.time_ns()
        counted = self._jobs.mark_batch_done(job.job_id, header.batch_number, len(rows))
        if counted:
            pipeline_metrics().record_import_records(
                len(rows), tenant_id=job.tenant_id, status=ImportStatus.SUCCESS
            )
        # Recorded before the completion check, so a finished job's explanation has every batch.
        timing = BatchTiming(
            header.batch_number,
            len(rows),
            delivery.sent_ns,
            delivery.started_ns,
            write_started_ns,
            write_ended_ns,
            stats.retries,
            stats.throttled_s,
            time.time_ns(),
            delivery.receive_count,
        )
        self._record_timing(job.job_id, timing)
        self._completer.try_complete(job.job_id)
        return LoadResult(job.job_id, header.batch_number, len(rows), counted, stats.calls, stats.retries)

    def _record_timing(self, job_id: str, timing: BatchTiming) -> None:
        """On the batch span and in the ledger; a ledger failure costs the explanation, not the batch."""
        attributes: dict[str, float | int] = {
            "import.write_seconds": timing.write_s,
            "import.throttled_retries": timing.throttled_retries,
            "import.throttled_seconds": timing.throttled_s,
        }
        if timing.queue_wait_s is not None:
            attributes["import.queue_wait_seconds"] = timing.queue_wait_s
        trace.get_current_span().set_attributes(attributes)
        try:
            self._jobs.record_batch_timing(job_id, timing.batch_number, timing.to_dict())
        except Exception:
            logger.warning("could not record batch timing", exc_info=True, extra={"job_id": job_id})

    def _plan(self, entity: str, columns: tuple[str, ...]) -> AttributePlan:
        plan = self._plans.get((entity, columns))
        if plan is None:
            schema = load_entity(entity)
            unknown = set(columns) - set(schema.columns)
            if unknown or schema.primary_key not in columns:
                raise BatchMessageError(f"batch columns {sorted(unknown)} do not fit entity {entity!r}")
            plan = AttributePlan.from_schema(columns, schema.raw.get("properties", {}), schema.primary_key)
            self._plans[(entity, columns)] = plan
        return plan

    def _record_failure(self, job: Job, batch_number: int, exc: Exception) -> None:
        """The batch failed on its last receive: show it on the job before it goes to the DLQ."""
        try:
            if self._jobs.mark_batch_failed(job.job_id, batch_number, str(exc) or type(exc).__name__):
                pipeline_metrics().record_import_errors(1, tenant_id=job.tenant_id, error_type="batch_failed")
                self._completer.try_complete(job.job_id)
        except Exception:  # the batch's own failure is what the caller must see
            logger.exception(
                "could not record failed batch", extra={"job_id": job.job_id, "batch": batch_number}
            )
        logger.error(
            "batch failed on its last receive",
            extra={"job_id": job.job_id, "batch": batch_number, "error": str(exc)},
        )


@dataclass(frozen=True)
class _Delivery:
    """When and how often the message came: the start of a batch's timing."""

    sent_ns: int | None
    started_ns: int
    receive_count: int


def monotonic_deadline(remaining_ms: float, reserve_s: float) -> float:
    """A `time.monotonic` deadline `reserve_s` before the invocation's time runs out."""
    return time.monotonic() + max(remaining_ms / 1000 - reserve_s, 0.0)
