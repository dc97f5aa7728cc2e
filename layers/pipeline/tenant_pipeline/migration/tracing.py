"""The migration's trace: one root `tenant.migration` span, one `migration.{phase}` span per phase.

The root's ids are allocated by the first task (joining the caller's trace when the execution input
carries one) and kept in the execution state and the migration record; every phase span is its
child, whatever invocation emits it; the root itself is emitted when the migration ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span

from tenant_pipeline.migration.state import MigrationState
from tenant_telemetry.jobs import JobTrace
from tenant_telemetry.metrics import pipeline_metrics
from tenant_telemetry.propagation.payload import payload_context

ROOT_SPAN = "tenant.migration"


def start_trace(
    execution_input: Any, *, tenant_id: str, source_region: str, target_region: str, start_ns: int
) -> JobTrace:
    """Allocate the migration's root, as a child of the caller's span when the input carries one."""
    parent = (
        payload_context(execution_input, source="execution input") if _has_trace(execution_input) else None
    )
    return JobTrace.start(
        ROOT_SPAN,
        parent=parent,
        attributes={
            "tenant.id": tenant_id,
            "migration.source_region": source_region,
            "migration.target_region": target_region,
        },
        start_time_ns=start_ns,
    )


def _has_trace(execution_input: Any) -> bool:
    return isinstance(execution_input, Mapping) and bool(execution_input.get("trace"))


@contextmanager
def phase_span(state: MigrationState, phase: str, **attributes: Any) -> Iterator[Span]:
    """`migration.{phase}`, child of the migration's root; exceptions are recorded on it."""
    job = JobTrace.from_dict(state.trace)
    with job.span(
        f"migration.{phase}",
        attributes={"tenant.id": state.tenant_id, "migration.id": state.migration_id, **attributes},
    ) as span:
        yield span


def finish_trace(
    trace: Mapping[str, Any],
    *,
    tenant_id: str,
    status: str,
    integrity_check: str,
    error: str | None = None,
    end_ns: int | None = None,
) -> None:
    """Emit the root span and the migration's duration and integrity metrics."""
    job = JobTrace.from_dict(trace)
    end = time.time_ns() if end_ns is None else end_ns
    job.complete(
        end_time_ns=end,
        attributes={"migration.status": status, "migration.integrity_check": integrity_check},
        error=error,
    )
    metrics = pipeline_metrics()
    metrics.record_migration_duration(
        max(0.0, (end - job.start_time_ns) / 1e9), tenant_id=tenant_id, status=status
    )
