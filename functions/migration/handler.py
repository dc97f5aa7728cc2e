"""Migration λ: every Task of the `tenant-migration` state machine, dispatched on the event's `phase`.

The event shapes are listed in `tenant_pipeline.migration.dispatch`. A phase that fails raises; its
class name is the error the state machine's Retry and Catch select on.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.dispatch import run_phase
from tenant_telemetry import instrument_handler


@cache
def _context_for(endpoint_url: str | None, region: str | None) -> MigrationContext:
    """Settings and clients, built once per cold start (at the first invocation, never at import).

    Keyed by endpoint and region: a process that runs one local AWS after another (tests, demos) must
    not keep clients bound to an endpoint that has stopped."""
    return MigrationContext.from_env()


def _context() -> MigrationContext:
    return _context_for(os.environ.get("AWS_ENDPOINT_URL") or None, os.environ.get("AWS_REGION") or None)


@instrument_handler(name="migration")
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_phase(_context(), event)
