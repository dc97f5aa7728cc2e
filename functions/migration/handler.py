"""Migration λ: every Task of the `tenant-migration` state machine, dispatched on the event's `phase`.

The event shapes are listed in `tenant_pipeline.migration.dispatch`. A phase that fails raises; its
class name is the error the state machine's Retry and Catch select on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.function_logs import function_logger
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.dispatch import run_phase
from tenant_telemetry import instrument_handler

logger = function_logger("migration")


@dataclass(frozen=True)
class Dependencies:
    context: MigrationContext

    @classmethod
    def from_env(cls) -> Dependencies:
        return cls(context=MigrationContext.from_env())


dependencies = ColdStart(Dependencies.from_env)


@instrument_handler(name="migration")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A leg of snapshot, transfer or verify works until this invocation's time is nearly up.
    return run_phase(dependencies.get().context.for_invocation(context.get_remaining_time_in_millis), event)
