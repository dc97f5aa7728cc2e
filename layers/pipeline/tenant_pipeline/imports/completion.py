"""Finishing an import job: the final status, the root span `data.import`, the job metrics.

Whoever makes the job's counts final finishes it, with a conditional update on its status so exactly
one invocation does: the loader whose batch completes the count (SUCCEEDED or PARTIAL), the loader or
the dead-letter reconciler whose recorded failure makes done + failed = total (FAILED, with the batch
numbers and why), or the validator when the file is refused or over its invalid threshold. Each reads
the counts after its own write, with a strongly consistent read, so the last writer sees every count.
A FAILED job whose failed batches later succeed (after `tenantctl redrive`) finishes again as
SUCCEEDED or PARTIAL; its root span is then emitted again with the same ids and the final status,
which trace backends show as the newest version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from tenant_pipeline.imports.verdict import loaded_status
from tenant_pipeline.store.jobs import Job, JobsLedger, JobStatus
from tenant_pipeline.store.tenants import now_iso
from tenant_telemetry import JobTrace, pipeline_metrics

ROOT_SPAN = "data.import"
logger = logging.getLogger(__name__)


SHOWN_FAILED_BATCHES = 20
"""Batch numbers a job's error names; `tenantctl job` lists them all."""


def failed_batches_reason(job: Job, max_receives: int) -> str:
    batches = job.failed_batches
    shown = ", ".join(str(number) for number in batches[:SHOWN_FAILED_BATCHES])
    if len(batches) > SHOWN_FAILED_BATCHES:
        shown += f" and {len(batches) - SHOWN_FAILED_BATCHES} more"
    noun, pronoun = ("batch", "it") if len(batches) == 1 else ("batches", "them")
    reasons = sorted({job.failure_reasons.get(number, "") for number in batches} - {""})
    why = f" ({'; '.join(reasons[:3])}{'; ...' if len(reasons) > 3 else ''})" if reasons else ""
    return (
        f"{noun} {shown} failed {max_receives} times and went to the dead-letter queue{why}; "
        f"redrive {pronoun} to finish the job"
    )


def unaccounted_rows(job: Job) -> str | None:
    """Why a job whose batches are all done cannot succeed: stored + invalid must be every row read."""
    read, invalid = job.total_rows or 0, job.invalid or 0
    if job.stored + invalid == read:
        return None
    return (
        f"counts do not add up: {read} rows read, {job.stored} stored and {invalid} invalid "
        f"({read - job.stored - invalid:+d} unaccounted)"
    )


class JobCompleter:
    """Moves import jobs to their final status and reports them."""

    def __init__(
        self,
        jobs: JobsLedger,
        *,
        max_receives: int,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._jobs = jobs
        self._max_receives = max_receives
        self._clock_ns = clock_ns

    def try_complete(self, job_id: str) -> Job | None:
        """Finish the job if its batches are all accounted for; None if not (yet) or if another
        invocation finished it."""
        job = self._jobs.get(job_id)
        if job.batches_total is None:
            return None
        failed = len(job.failed_batches)
        if not failed and job.batches_done >= job.batches_total and job.status in _FINISHABLE:
            missing = unaccounted_rows(job)
            status = JobStatus.FAILED if missing else loaded_status(job.invalid or 0)
            if job.status is status and job.error == missing:
                return None  # judged on these counts already (a redelivered last batch)
            finished = self._jobs.finish(
                job_id, status, finished_at=now_iso(), expect=_FINISHABLE, error=missing, counts=job
            )
        elif failed and job.batches_done + failed >= job.batches_total and job.status is JobStatus.RUNNING:
            finished = self._jobs.finish(
                job_id,
                JobStatus.FAILED,
                finished_at=now_iso(),
                error=failed_batches_reason(job, self._max_receives),
                counts=job,
            )
        else:
            return None
        if finished is not None:
            self.report(finished)
        return finished

    def fail(self, job_id: str, status: JobStatus, error: str) -> Job | None:
        """End a running job that loads nothing (refused, or over its invalid threshold)."""
        finished = self._jobs.finish(job_id, status, finished_at=now_iso(), error=error)
        if finished is not None:
            self.report(finished)
        return finished

    def report(self, job: Job) -> None:
        """Emit the job's root span and its completion metrics."""
        end_ns = self._clock_ns()
        job_trace = JobTrace.from_dict(job.trace) if job.trace is not None else None
        start_ns = job_trace.start_time_ns if job_trace is not None else (job.started_ns or end_ns)
        duration_s = max(end_ns - start_ns, 0) / 1e9
        rows = job.total_rows or 0
        rate = rows / duration_s if duration_s > 0 else 0.0
        attributes: dict[str, Any] = {
            "tenant.id": job.tenant_id,
            "import.job_id": job.job_id,
            "import.entity_type": job.entity_type or "",
            "import.format": job.format or "",
            "import.status": job.status.value,
            "import.row_count": rows,
            "import.stored": job.stored,
            "import.invalid": job.invalid or 0,
            "import.duration_seconds": duration_s,
            "import.records_per_second": rate,
        }
        if job.failed_batches:
            attributes["import.failed_batches"] = list(job.failed_batches)
        error = job.error if job.status in _ERROR_STATUSES else None
        if job_trace is not None:
            job_trace.complete(end_time_ns=end_ns, attributes=attributes, error=error or None)
        instruments = pipeline_metrics()
        entity = job.entity_type or ""
        instruments.record_import_duration(duration_s, tenant_id=job.tenant_id, entity_type=entity)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.PARTIAL):
            instruments.record_import_throughput(rate, entity_type=entity)
        else:
            instruments.record_import_errors(1, tenant_id=job.tenant_id, error_type=_error_type(job))
        logger.info(
            "import job finished",
            extra={
                "job_id": job.job_id,
                "tenant_id": job.tenant_id,
                "status": job.status.value,
                "error": error,
            },
        )


_FINISHABLE = (JobStatus.RUNNING, JobStatus.FAILED)
_ERROR_STATUSES = frozenset({JobStatus.FAILED, JobStatus.FAILED_VALIDATION})


def _error_type(job: Job) -> str:
    if job.status is JobStatus.FAILED_VALIDATION:
        return "validation_failed"
    if job.failed_batches:
        return "batch_failed"
    return "rows_unaccounted" if job.batches_total and unaccounted_rows(job) else "refused"
