"""A batch span processor that never drops a span.

The SDK's `BatchSpanProcessor` drops spans ("Queue full") when they end faster than the exporter sends them.
A function that ends a burst of spans (one validation invocation over a large file fans out thousands of
batches) must not lose any, so this processor counts what it queued and what the exporter took, and when
the queue nears its bound, the thread that ends the span exports the queue itself before queueing more.
That thread waits for one export instead of the span being lost.

Back-pressure holds only while the collector accepts: after a failed export the SDK's behaviour returns
(drops, with its warning), so an unreachable collector never holds an invocation past its time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

if TYPE_CHECKING:
    from opentelemetry.context import Context


class _CountingExporter(SpanExporter):
    """Counts the spans that left the queue, whether their export succeeded or not."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self.taken = 0
        self.accepting = True
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = SpanExportResult.FAILURE
        try:
            result = self.exporter.export(spans)
            return result
        finally:
            with self._lock:
                self.taken += len(spans)
                self.accepting = result is SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class BackpressureSpanProcessor(SpanProcessor):
    """`BatchSpanProcessor` with back-pressure instead of drops when the queue is nearly full."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay_millis: float | None = None,
    ) -> None:
        self._exporter = _CountingExporter(exporter)
        self._batch = BatchSpanProcessor(
            self._exporter,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_millis,
        )
        # One batch of headroom: concurrent threads may each queue a span after checking.
        self._threshold = max(1, max_queue_size - max_export_batch_size)
        self._queued = 0
        self._lock = threading.Lock()

    @property
    def span_exporter(self) -> SpanExporter:
        return self._exporter.exporter

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._batch.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return
        with self._lock:
            self._queued += 1
            pending = self._queued - self._exporter.taken
        if pending >= self._threshold and self._exporter.accepting:
            self._batch.force_flush()
        self._batch.on_end(span)

    def shutdown(self) -> None:
        self._batch.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batch.force_flush(timeout_millis)
