"""Which exporters the environment asks for; everything else of `OTEL_*` is read by the SDK and the exporters.

The OTLP exporters read their own endpoint, headers, timeout, compression and TLS variables, and the SDK
its sampler and resource variables. This module decides only what those components cannot: whether an
OTLP endpoint is configured at all, whether spans also go to a JSON-lines file (the local AWS's), and
the queue bound of the back-pressure processor (`OTEL_BSP_MAX_QUEUE_SIZE` and
`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, with defaults sized for a burst), which it must know to push back before
the SDK's queue drops.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

_log = logging.getLogger(__name__)

JSONL_PATH_VAR = "TENANT_TELEMETRY_JSONL_PATH"

# Sized for a burst: a validation invocation over a large file ends many batch spans in a row. The span
# processor also applies back-pressure near this bound, so the queue never drops (see processors.py).
DEFAULT_MAX_QUEUE_SIZE = 8192
DEFAULT_MAX_EXPORT_BATCH_SIZE = 512


@dataclass(frozen=True)
class TelemetrySettings:
    """What the environment asks of this layer; the providers are built from it in `providers.py`."""

    sdk_disabled: bool
    otlp_traces: bool
    otlp_metrics: bool
    jsonl_path: str | None
    max_queue_size: int
    max_export_batch_size: int
    metric_export_interval_set: bool
    metrics_temporality_set: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetrySettings:
        env = os.environ if environ is None else environ
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
            metric_export_interval_set=bool(env.get("OTEL_METRIC_EXPORT_INTERVAL")),
            metrics_temporality_set=bool(env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")),
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
