"""Bookkeeping shared by every phase: attempts, durations, the phase span and the migration's end.

The migration's trace is one root `tenant.migration` span and one `migration.{phase}` span per phase.
The root's ids are allocated by the first task (joining the caller's trace when the execution input
carries one) and kept in the execution state and the migration record; every phase span is its
child, whatever invocation emits it; the root itself is emitted when the migration ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import Span

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import MigrationError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.request import MigrationState
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


LOG = logging.getLogger(__name__)


def iso_from_ns(epoch_ns: int) -> str:
    moment = datetime.fromtimestamp(epoch_ns / 1e9, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextmanager
def recorded_phase(
    context: MigrationContext, state: MigrationState, phase: str, **attributes: Any
) -> Iterator[Span]:
    """Count the attempt, run the block in `migration.{phase}`, record its outcome and duration."""
    ledger = context.ledger()
    started = context.clock_ns()
    ledger.update(
        state.tenant_id, state.migration_id, {"current_phase": phase}, add_fields={f"attempts_{phase}": 1}
    )
    try:
        with phase_span(state, phase, **attributes) as span:
            yield span
    except Exception as exc:
        _record(context, state, phase, started, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    _record(context, state, phase, started, status="done")


def _record(
    context: MigrationContext,
    state: MigrationState,
    phase: str,
    started: int,
    *,
    status: str,
    error: str = "",
) -> None:
    ended = context.clock_ns()
    entry: dict[str, Any] = {
        "status": status,
        "started_at": iso_from_ns(started),
        "finished_at": iso_from_ns(ended),
        "duration_s": round((ended - started) / 1e9, 3),
    }
    if error:
        entry["error"] = error[:500]
    try:
        context.ledger().update(state.tenant_id, state.migration_id, {f"phase_{phase}": entry})
    except MigrationError:
        if status == "done":
            raise
        # A failed phase is reported by the state machine anyway; its bookkeeping must not mask the cause.
        LOG.warning("could not record the failure of phase %s of migration %s", phase, state.migration_id)


def finish_migration(
    context: MigrationContext,
    state: MigrationState,
    status: MigrationStatus,
    *,
    integrity_check: str,
    error: str | None = None,
    **fields: Any,
) -> None:
    """Record the final status (with `error` and `fields`) and emit the root span, ending both at once."""
    now = context.clock_ns()
    final: dict[str, Any] = {"status": status.value, "finished_at": iso_from_ns(now)}
    if error is not None:
        final["error"] = error
    context.ledger().update(state.tenant_id, state.migration_id, final | fields)
    finish_trace(
        state.trace,
        tenant_id=state.tenant_id,
        status=status.value,
        integrity_check=integrity_check,
        error=error,
        end_ns=now,
    )
