"""In-memory telemetry for tests: spans and metric points kept in memory instead of exported.

```python
with in_memory_telemetry() as memory:
    handler(event, context)
    assert [s.name for s in memory.spans()] == [...]
```

It becomes the active telemetry of this layer (what the decorator, job traces and consumer spans use) for
the duration of the block, whatever `configure()` installed before, and restores that afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tenant_telemetry.providers import Telemetry, build_telemetry, use_telemetry


@dataclass
class InMemoryTelemetry:
    telemetry: Telemetry
    span_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, oldest first."""
        return list(self.span_exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called `name`."""
        found = [span for span in self.spans() if span.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one span {name!r}, found {len(found)}: {self.names()}")
        return found[0]

    def names(self) -> list[str]:
        return [span.name for span in self.spans()]

    def metrics(self) -> dict[str, Metric]:
        """Metrics collected since the last call (delta temporality), by name."""
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return {}
        return {
            metric.name: metric
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }

    def clear(self) -> None:
        self.span_exporter.clear()


@contextmanager
def in_memory_telemetry(**reader_options: Any) -> Iterator[InMemoryTelemetry]:
    from tenant_telemetry.providers import DELTA_TEMPORALITY

    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader(preferred_temporality=DELTA_TEMPORALITY, **reader_options)
    telemetry = build_telemetry(
        span_processors=[SimpleSpanProcessor(exporter)], metric_readers=[reader], shutdown_on_exit=False
    )
    previous = use_telemetry(telemetry)
    try:
        yield InMemoryTelemetry(telemetry, exporter, reader)
    finally:
        use_telemetry(previous)
        telemetry.shutdown()
