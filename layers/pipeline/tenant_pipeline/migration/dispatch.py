"""The phase a Step Functions task asks for, run with the function's adapters.

Event shapes (built by the state machine's `Parameters`):
- `{"phase": "validate", "input": <execution input>, "execution": {"id", "name", "start_time"}}`
- `{"phase": "freeze" | "cutover", "migration": {...}}`
- `{"phase": "snapshot" | "transfer" | "verify", "migration": {...}, "cursor": {...}}`: one leg, from the
  cursor the previous leg returned (`{}` for the first; see `legs`)
- `{"phase": "load", "migration": {...}, "chunk": {"key", "count", "sha256"}}` (a chunk index item)
- `{"phase": "rollback", "migration": {...}, "error": {"Error", "Cause"}}`
- `{"phase": "abandon", "migration": {...}, "error": {...}, "rollback_error": {...}}`
- EventBridge's "Step Functions Execution Status Change" event of a failed, timed-out or aborted
  execution (see `reconcile`)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.directories import cutover, freeze
from tenant_pipeline.migration.errors import MigrationError, UnknownPhaseError
from tenant_pipeline.migration.load import load, record_chunk_failure
from tenant_pipeline.migration.reconcile import is_execution_status_change, reconcile
from tenant_pipeline.migration.request import MigrationState
from tenant_pipeline.migration.rollback import abandon, rollback
from tenant_pipeline.migration.snapshot import snapshot
from tenant_pipeline.migration.transfer import transfer
from tenant_pipeline.migration.validate import validate
from tenant_pipeline.migration.verify import verify

PhaseRunner = Callable[[MigrationContext, Mapping[str, Any]], dict[str, Any]]


def _state(event: Mapping[str, Any]) -> MigrationState:
    return MigrationState.from_dict(event.get("migration"))


PHASES: dict[str, PhaseRunner] = {
    "validate": lambda context, event: validate(context, event.get("input"), event.get("execution") or {}),
    "freeze": lambda context, event: freeze(context, _state(event)),
    "snapshot": lambda context, event: snapshot(context, _state(event), event.get("cursor")),
    "transfer": lambda context, event: transfer(context, _state(event), event.get("cursor")),
    "load": lambda context, event: load(context, _state(event), event.get("chunk")),
    "verify": lambda context, event: verify(context, _state(event), event.get("cursor")),
    "cutover": lambda context, event: cutover(context, _state(event)),
    "rollback": lambda context, event: rollback(context, _state(event), event.get("error")),
    "abandon": lambda context, event: abandon(
        context, _state(event), event.get("error"), event.get("rollback_error")
    ),
}
"""Phase name -> runner. Looked up at call time, so tests can wrap one phase to inject a fault."""


def run_phase(context: MigrationContext, event: Any) -> dict[str, Any]:
    if is_execution_status_change(event):
        return reconcile(context, event)
    phase = event.get("phase") if isinstance(event, Mapping) else None
    runner = PHASES.get(phase) if isinstance(phase, str) else None
    if runner is None:
        raise UnknownPhaseError(f"unknown migration phase {phase!r}; expected one of {', '.join(PHASES)}")
    try:
        return runner(context, event)
    except MigrationError as exc:
        if phase == "load":
            record_chunk_failure(context, _state(event), event.get("chunk"), exc)
        raise
