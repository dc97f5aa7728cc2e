"""Bookkeeping shared by every phase: attempts, durations, the phase span and the migration's end.

The migration's trace is one root `tenant.migration` span and one `migration.{phase}` span per phase
(with one `migration.{phase}.leg` child per leg of snapshot, transfer and verify).
The root's ids are allocated by the first task (joining the caller's trace when the execution input
carries one) and kept in the execution state and the migration record; every phase span is its
child, whatever invocation emits it; the root itself is emitted when the migration ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import MigrationError, TransientMigrationError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.legs import LegBudget, LegProgress
from tenant_pipeline.migration.request import MigrationState
from tenant_telemetry import get_tracer
from tenant_telemetry.database import dynamodb_attributes, dynamodb_span_name
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
    seconds: float | None = None,
    legs: int | None = None,
) -> None:
    """The phase's entry: from its start to now, and the time it worked (its legs' sum, for a legged one)."""
    ended = context.clock_ns()
    entry: dict[str, Any] = {
        "status": status,
        "started_at": iso_from_ns(started),
        "finished_at": iso_from_ns(ended),
        "duration_s": round((ended - started) / 1e9 if seconds is None else seconds, 3),
    }
    if legs is not None:
        entry["legs"] = legs
    if error:
        entry["error"] = error[:500]
    try:
        context.ledger().update(state.tenant_id, state.migration_id, {f"phase_{phase}": entry})
    except MigrationError:
        if status != "failed":
            raise
        # A failed phase is reported by the state machine anyway; its bookkeeping must not mask the cause.
        LOG.warning("could not record the failure of phase %s of migration %s", phase, state.migration_id)


@dataclass
class Leg:
    """One leg of a legged phase, as its block sees it: set `done` (and the phase span's closing
    `attributes`) when the phase has finished; `progress` is the next leg's, once the block is left."""

    span: Span
    budget: LegBudget
    progress: LegProgress
    done: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)


@contextmanager
def recorded_leg(
    context: MigrationContext, state: MigrationState, phase: str, progress: LegProgress
) -> Iterator[Leg]:
    """Count the attempt and run the block as a `migration.{phase}.leg` span under the phase's span, which
    the first leg allocates and the last emits. The record keeps the phase's time as the sum of its legs,
    so the time between legs (Step Functions' Choice and the next invocation) stays out of it."""
    started = context.clock_ns()
    context.ledger().update(
        state.tenant_id, state.migration_id, {"current_phase": phase}, add_fields={f"attempts_{phase}": 1}
    )
    first = progress.started_ns or started
    phase_trace = (
        JobTrace.from_dict(progress.span)
        if progress.span
        else JobTrace.start(
            f"migration.{phase}",
            parent=JobTrace.from_dict(state.trace).context(),
            attributes={"tenant.id": state.tenant_id, "migration.id": state.migration_id},
            start_time_ns=first,
        )
    )
    leg_attributes: dict[str, AttributeValue] = {
        "tenant.id": state.tenant_id,
        "migration.id": state.migration_id,
        "migration.leg": progress.leg,
    }
    try:
        with phase_trace.span(f"migration.{phase}.leg", attributes=leg_attributes) as span:
            leg = Leg(span=span, budget=context.leg_budget(), progress=progress)
            yield leg
    except Exception as exc:
        seconds = progress.seconds + (context.clock_ns() - started) / 1e9
        error = f"{type(exc).__name__}: {exc}"
        _record(
            context, state, phase, first, status="failed", error=error, seconds=seconds, legs=progress.leg + 1
        )
        if not isinstance(exc, TransientMigrationError):  # a transient error's leg is retried as it was
            phase_trace.complete(end_time_ns=context.clock_ns(), error=exc)
        raise
    seconds = progress.seconds + (context.clock_ns() - started) / 1e9
    status = "done" if leg.done else "running"
    _record(context, state, phase, first, status=status, seconds=seconds, legs=progress.leg + 1)
    if leg.done:
        phase_trace.complete(
            end_time_ns=context.clock_ns(), attributes={"migration.legs": progress.leg + 1, **leg.attributes}
        )
    leg.progress = LegProgress(progress.leg + 1, first, seconds, phase_trace.to_dict())


def query_span(table: str, partition: str) -> AbstractContextManager[Span]:
    """A leg's reading of one tenant partition (every page it reads there), named and described as the
    database semantic conventions describe a DynamoDB Query."""
    return get_tracer().start_as_current_span(
        dynamodb_span_name("Query", table),
        attributes={
            **dynamodb_attributes("Query", table),
            "aws.dynamodb.consistent_read": True,
            "migration.partition": partition,
        },
    )


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
