"""Bookkeeping shared by every phase: attempts, durations, the phase span and the migration's end."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import Span

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import MigrationError
from tenant_pipeline.migration.ledger import MigrationStatus
from tenant_pipeline.migration.state import MigrationState
from tenant_pipeline.migration.tracing import finish_trace, phase_span

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
