"""Spans of a job that a command runs itself go where the functions' spans go.

On the local AWS that is the span file it publishes (so `tenantctl trace JOB_ID` draws the job), and also an
OTLP endpoint if one is set; elsewhere the standard `OTEL_*` environment decides, as for the functions.
"""

from __future__ import annotations

import os

from tenant_telemetry import get_telemetry
from tenantctl.local.defaults import SPANS_FILE_PARAMETER, TELEMETRY_JSONL_ENV
from tenantctl.target import Target, read_parameter

FLUSH_TIMEOUT_MS = 10_000


def use_job_telemetry(target: Target) -> None:
    """Send this process's spans to the target's span file, if it publishes one and no other file is set;
    an OTLP endpoint in the environment gets them too, as the local functions' spans."""
    if target.endpoint_url is not None and TELEMETRY_JSONL_ENV not in os.environ:
        path = read_parameter(target.clients().ssm, SPANS_FILE_PARAMETER)
        if path:
            os.environ[TELEMETRY_JSONL_ENV] = path
    get_telemetry()


def flush_job_telemetry() -> None:
    get_telemetry().flush(FLUSH_TIMEOUT_MS)
