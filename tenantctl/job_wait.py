"""Following a job until it finishes."""

from __future__ import annotations

import time
from collections.abc import Callable

from tenant_pipeline.errors import UnknownJobError
from tenant_pipeline.store.jobs import Job, JobsLedger
from tenantctl.errors import JobTimeoutError

POLL_INTERVAL_S = 0.5
DEFAULT_WAIT_S = 300.0
DEFAULT_FIND_S = 30.0
"""How long an uploader waits for its upload's job to appear (the job exists once validation starts)."""


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
