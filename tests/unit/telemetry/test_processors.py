"""A burst of spans is never dropped: the span processor applies back-pressure instead of "Queue full"."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tenant_telemetry.processors import BackpressureSpanProcessor

QUEUE, BATCH, BURST = 64, 16, 2_000


class SlowExporter(SpanExporter):
    """A collector that takes its time over each request (and may refuse them all)."""

    def __init__(
        self, seconds_per_export: float, result: SpanExportResult = SpanExportResult.SUCCESS
    ) -> None:
        self.seconds = seconds_per_export
        self.result = result
        self.count = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        time.sleep(self.seconds)
        with self._lock:
            self.count += len(spans)
        return self.result

    def shutdown(self) -> None:
        return None


def burst(processor: SpanProcessor, spans: int, threads: int = 1) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("burst")

    def end_spans() -> None:
        for i in range(spans // threads):
            tracer.start_span(f"data.import.batch {i}").end()

    workers = [threading.Thread(target=end_spans) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    provider.force_flush()
    provider.shutdown()


@pytest.mark.parametrize("threads", [1, 4])
def test_a_burst_far_over_the_queue_size_is_exported_whole(
    caplog: pytest.LogCaptureFixture, threads: int
) -> None:
    exporter = SlowExporter(0.002)
    processor = BackpressureSpanProcessor(
        exporter, max_queue_size=QUEUE, max_export_batch_size=BATCH, schedule_delay_millis=60_000
    )
    with caplog.at_level(logging.WARNING):
        burst(processor, BURST, threads)
    assert exporter.count == BURST
    assert "Queue full" not in caplog.text


def test_the_sdk_processor_alone_drops_the_same_burst() -> None:
    # The failure the back-pressure prevents, shown with the same sizes and a slower collector
    exporter = SlowExporter(0.02)
    processor = BatchSpanProcessor(
        exporter, max_queue_size=QUEUE, max_export_batch_size=BATCH, schedule_delay_millis=60_000
    )
    burst(processor, BURST)
    assert exporter.count < BURST


def test_an_unreachable_collector_does_not_hold_the_function() -> None:
    # Given a collector that fails every export after 50 ms
    exporter = SlowExporter(0.05, SpanExportResult.FAILURE)
    processor = BackpressureSpanProcessor(
        exporter, max_queue_size=QUEUE, max_export_batch_size=BATCH, schedule_delay_millis=60_000
    )
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("burst")
    # When a burst ends (back-pressure would wait for ~125 failing exports, over 6 s)
    started = time.monotonic()
    for i in range(BURST):
        tracer.start_span(f"span {i}").end()
    elapsed = time.monotonic() - started
    provider.shutdown()
    # Then the spans beyond the queue are dropped as the SDK does, and the function goes on
    assert elapsed < 3
    assert exporter.count < BURST
