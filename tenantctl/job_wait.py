"""Finding the job an upload started, and following it until it finishes."""

from __future__ import annotations

import time
from collections.abc import Callable

from tenant_pipeline.errors import UnknownJobError
from tenant_pipeline.store.jobs import Job, JobsLedger
from tenantctl.errors import JobTimeoutError

POLL_INTERVAL_S = 0.5
DEFAULT_WAIT_S = 300.0


def find_job(ledger: JobsLedger, tenant_id: str, *, trace_id: str, source_uri: str, timeout_s: float) -> Job:
    """The tenant's job that joined the uploader's trace (or, failing that, read this object)."""
    deadline = time.monotonic() + timeout_s
    while True:
        for job in ledger.list_for_tenant(tenant_id, limit=50):
            if job.trace_id == trace_id or (job.trace_id is None and job.source_uri == source_uri):
                return job
        if time.monotonic() >= deadline:
            raise JobTimeoutError(
                f"no job started for {source_uri} within {timeout_s:.0f}s "
                "(is the import pipeline running at this endpoint?)"
            )
        time.sleep(POLL_INTERVAL_S)


def follow_job(
    ledger: JobsLedger, job_id: str, *, timeout_s: float, on_progress: Callable[[Job], None] | None = None
) -> Job:
    """Poll the job until it is no longer RUNNING, reporting each state seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            job = ledger.get(job_id)
        except UnknownJobError:
            job = None
        if job is not None:
            if on_progress is not None:
                on_progress(job)
            if job.finished:
                return job
        if time.monotonic() >= deadline:
            raise JobTimeoutError(f"job {job_id} still running after {timeout_s:.0f}s")
        time.sleep(POLL_INTERVAL_S)
