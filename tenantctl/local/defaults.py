"""Addresses and file names of the local AWS, importable without loading moto (commands stay fast)."""

from __future__ import annotations

from pathlib import Path

from tenant_pipeline import topology

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
LOCAL_ENDPOINT = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DEFAULT_STATE_DIR = Path(".tenantctl")
SPANS_FILE_NAME = "spans.jsonl"
SPANS_FILE_PARAMETER = f"{topology.SSM_PREFIX}/local/spans-file"
"""Local-only SSM parameter: where the handlers of the local AWS write their spans."""
TELEMETRY_JSONL_ENV = "TENANT_TELEMETRY_JSONL_PATH"
DEFAULT_RETRY_AFTER_S = 2
"""Local setting: the visibility timeout of each receive by the event source pump (see `local/pump.py`)."""
DEFAULT_SCHEDULE_EVERY_S = 5.0
"""Local setting: how often the scheduled functions run (`local/schedule.py`); AWS runs them each minute."""
