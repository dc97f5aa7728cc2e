"""Reading the error the state machine caught into one sentence for the record and the trace."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tenant_pipeline.migration.ledger import MigrationRecord


def failure_reason(error: Any, record: MigrationRecord | None = None) -> str:
    """`{"Error": ..., "Cause": ...}` (a Catch's ResultPath) as `Error: message`."""
    if not isinstance(error, Mapping):
        return "the migration failed"
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    message = cause if isinstance(cause, str) else ""
    try:
        payload = json.loads(message) if message.startswith("{") else None
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        message = str(payload.get("errorMessage") or message)
    if name == "IntegrityCheckFailed" and record is not None:
        message = (
            f"the target holds {record.get('target_record_count')} item(s) with checksum "
            f"{record.get('target_checksum')}; the snapshot has {record.get('record_count')} with checksum "
            f"{record.get('checksum')}"
        )
    reason = f"{name}: {message}" if message else name
    load_error = record.get("load_error") if record is not None else None
    if load_error:
        reason += f"; a chunk failed to load: {load_error}"
    return reason
