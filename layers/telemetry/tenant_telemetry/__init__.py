"""tenant_telemetry: OpenTelemetry for Python Lambdas, with traces joined across invocations.

- `configure()`: tracer and meter providers from the standard `OTEL_*` environment, once per cold start.
- `instrument_handler`: one invocation span per invocation, flushed before the invocation returns.
- `tenant_telemetry.propagation`: W3C context through SQS attributes, S3 metadata and JSON payloads.
- `batch_span` / `consumer_span`: the messaging conventions for an SQS batch and each of its messages.
- `JobTrace`: one trace per job, whose root span covers every invocation of the job.
- `pipeline_metrics()`: the seed instruments, with their exact names and attributes.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tenant_telemetry.handler import instrument_handler
from tenant_telemetry.messaging import batch_span, consumer_span
from tenant_telemetry.providers import Telemetry, configure, get_telemetry, get_tracer

if TYPE_CHECKING:
    from tenant_telemetry.jobs import JobTrace, JobTraceError
    from tenant_telemetry.metrics import PipelineMetrics, pipeline_metrics

# Imported on first use: a function that only decorates its handler does not compile job traces or the
# instruments at cold start.
_LAZY = {
    "JobTrace": "tenant_telemetry.jobs",
    "JobTraceError": "tenant_telemetry.jobs",
    "PipelineMetrics": "tenant_telemetry.metrics",
    "pipeline_metrics": "tenant_telemetry.metrics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "JobTrace",
    "JobTraceError",
    "PipelineMetrics",
    "Telemetry",
    "batch_span",
    "configure",
    "consumer_span",
    "get_telemetry",
    "get_tracer",
    "instrument_handler",
    "pipeline_metrics",
]
