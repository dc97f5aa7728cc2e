"""Telemetry settings, read once from the standard `OTEL_*` environment.

Only one variable is the project's own: `TENANT_TELEMETRY_JSONL_PATH`, the JSON-lines file that receives
spans when no OTLP endpoint is configured (the local AWS sets it; `tenantctl trace` reads it).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

_log = logging.getLogger(__name__)

JSONL_PATH_VAR = "TENANT_TELEMETRY_JSONL_PATH"

# Sized for a burst: a validation invocation over a large file ends many batch spans in a row. The span
# processor also applies back-pressure near this bound, so the queue never drops (see processors.py).
DEFAULT_MAX_QUEUE_SIZE = 8192
DEFAULT_MAX_EXPORT_BATCH_SIZE = 512
DEFAULT_SCHEDULE_DELAY_MS = 1000
DEFAULT_EXPORT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TelemetrySettings:
    """What the environment asks for; the providers are built from this in `setup.py`."""

    sdk_disabled: bool
    otlp_traces: bool
    otlp_metrics: bool
    jsonl_path: str | None
    max_queue_size: int
    max_export_batch_size: int
    schedule_delay_ms: int
    metric_export_interval_ms: float
    export_timeout_s: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetrySettings:
        env = os.environ if environ is None else environ
        for name in (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        ):
            if env.get(name, "http/protobuf") != "http/protobuf":
                _log.warning(
                    "%s=%s is not supported; tenant_telemetry exports http/protobuf", name, env[name]
                )
        endpoint = bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        traces_exporter = _exporter_choice(env, "OTEL_TRACES_EXPORTER")
        metrics_exporter = _exporter_choice(env, "OTEL_METRICS_EXPORTER")
        max_queue = _int(env, "OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_MAX_QUEUE_SIZE)
        max_batch = min(_int(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULT_MAX_EXPORT_BATCH_SIZE), max_queue)
        return cls(
            sdk_disabled=env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true",
            otlp_traces=traces_exporter == "otlp"
            and (endpoint or bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))),
            otlp_metrics=metrics_exporter == "otlp"
            and (endpoint or bool(env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))),
            jsonl_path=(env.get(JSONL_PATH_VAR) or None) if traces_exporter == "otlp" else None,
            max_queue_size=max_queue,
            max_export_batch_size=max_batch,
            schedule_delay_ms=_int(env, "OTEL_BSP_SCHEDULE_DELAY", DEFAULT_SCHEDULE_DELAY_MS),
            # Each invocation flushes metrics itself, so no timer thread is needed unless one is asked for.
            metric_export_interval_ms=float(_int(env, "OTEL_METRIC_EXPORT_INTERVAL", 0)) or math.inf,
            export_timeout_s=_float(
                env,
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                _float(env, "OTEL_EXPORTER_OTLP_TIMEOUT", DEFAULT_EXPORT_TIMEOUT_S),
            ),
        )


def _exporter_choice(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "otlp").strip().lower() or "otlp"
    if value not in ("otlp", "none"):
        _log.warning("%s=%s is not supported by tenant_telemetry; using otlp", name, value)
        return "otlp"
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        _log.warning("%s=%r is not an integer; using %s", name, raw, default)
        return default
    if value <= 0:
        _log.warning("%s=%r must be positive; using %s", name, raw, default)
        return default
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        _log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default
