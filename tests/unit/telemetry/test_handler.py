"""The handler decorator: invocation span, FaaS attributes, SQS batch span, and the flush before return."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from tenant_telemetry import instrument_handler
from tenant_telemetry.processors import BackpressureSpanProcessor
from tenant_telemetry.propagation import inject_message_attributes, inject_payload
from tenant_telemetry.providers import FLUSH_MARGIN_MS, build_telemetry, use_telemetry
from tenant_telemetry.testing import InMemoryTelemetry
from tests.unit.telemetry.lambda_shapes import QUEUE, FakeLambdaContext, sqs_event, sqs_record


def test_invocation_span_follows_the_faas_conventions(memory: InMemoryTelemetry) -> None:
    @instrument_handler
    def handler(event: Any, context: Any) -> str:
        return "ok"

    first, second = FakeLambdaContext(), FakeLambdaContext()
    assert handler({"job_id": "j"}, first) == "ok"
    handler({"job_id": "j"}, second)
    spans = [s for s in memory.spans() if s.name == first.function_name]
    assert len(spans) == 2
    span = spans[0]
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["faas.trigger"] == "other"
    assert span.attributes["faas.invocation_id"] == first.aws_request_id
    assert span.attributes["cloud.resource_id"] == first.invoked_function_arn
    assert span.attributes["cloud.account.id"] == "123456789012"
    assert [s.attributes["faas.coldstart"] for s in spans if s.attributes] == [True, False]


def test_sqs_invocation_gets_a_consumer_batch_span(memory: InMemoryTelemetry) -> None:
    with memory.telemetry.tracer.start_as_current_span("producer"):
        attributes = inject_message_attributes()
    event = sqs_event(sqs_record({"MessageAttributes": attributes}) for _ in range(3))

    @instrument_handler
    def handler(event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    handler(event, FakeLambdaContext())
    invocation = memory.span("tenant-pipelines-import-load")
    batch = memory.span(f"process {QUEUE}")
    assert invocation.attributes is not None and invocation.attributes["faas.trigger"] == "pubsub"
    assert invocation.attributes["aws.lambda.batch_item_failures"] == 1
    assert batch.parent is not None and invocation.context is not None
    assert batch.parent.span_id == invocation.context.span_id
    assert len(batch.links) == 3


def test_payload_trace_field_parents_the_invocation(memory: InMemoryTelemetry) -> None:
    with memory.telemetry.tracer.start_as_current_span("state machine task") as caller:
        payload = inject_payload({"tenant_id": "acme"})

    @instrument_handler(name="migration.snapshot")
    def handler(event: Any, context: Any) -> None:
        return None

    handler(payload, FakeLambdaContext())
    span = memory.span("migration.snapshot")
    assert span.parent is not None and span.parent.span_id == caller.get_span_context().span_id


@pytest.mark.parametrize(
    ("event", "trigger"),
    [
        ({"Records": [{"eventSource": "aws:s3"}]}, "datasource"),
        ({"Records": [{"EventSource": "aws:sns"}]}, "pubsub"),
        ({"httpMethod": "GET", "headers": {}}, "http"),
        ({"source": "aws.events", "detail-type": "Scheduled Event"}, "timer"),
        ([1, 2], "other"),
    ],
)
def test_trigger_from_the_event_shape(memory: InMemoryTelemetry, event: Any, trigger: str) -> None:
    @instrument_handler(name="fn")
    def handler(event: Any, context: Any) -> None:
        return None

    handler(event, FakeLambdaContext())
    attributes = memory.span("fn").attributes
    assert attributes is not None and attributes["faas.trigger"] == trigger


class FlushSpy:
    """Wraps `Telemetry.flush` to see when it runs and what was finished by then."""

    def __init__(self, memory: InMemoryTelemetry, order: list[str]) -> None:
        self.memory, self.order = memory, order
        self.flush = memory.telemetry.flush
        self.finished_at_flush: list[str] = []
        self.budgets: list[float] = []

    def __call__(self, timeout_ms: float) -> bool:
        self.order.append("flush")
        self.budgets.append(timeout_ms)
        self.finished_at_flush = self.memory.names()
        return self.flush(timeout_ms)


@pytest.mark.parametrize("raises", [False, True])
def test_flush_runs_before_the_handler_returns_or_raises(
    memory: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch, raises: bool
) -> None:
    order: list[str] = []
    spy = FlushSpy(memory, order)
    monkeypatch.setattr(memory.telemetry, "flush", spy)

    @instrument_handler(name="fn")
    def handler(event: Any, context: Any) -> str:
        with memory.telemetry.tracer.start_as_current_span("work"):
            order.append("body")
        if raises:
            raise RuntimeError("boom")
        return "ok"

    context = FakeLambdaContext(timeout_ms=5_000)
    if raises:
        with pytest.raises(RuntimeError, match="boom"):
            handler({}, context)
    else:
        handler({}, context)
    order.append("returned")

    assert order == ["body", "flush", "returned"]
    # The invocation span had ended before the flush, so the flush carried it
    assert spy.finished_at_flush == ["work", "fn"]
    # The budget is the time the invocation had left, less the margin
    assert 4_000 < spy.budgets[0] <= 5_000 - FLUSH_MARGIN_MS
    span = memory.span("fn")
    if raises:
        assert span.status.status_code is StatusCode.ERROR
        assert [event.name for event in span.events] == ["exception"]


class StuckExporter(SpanExporter):
    """An exporter whose endpoint does not answer until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported: list[str] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(10)
        self.exported.extend(span.name for span in spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_flush_is_bounded_by_the_time_the_invocation_has_left(caplog: pytest.LogCaptureFixture) -> None:
    # Given an exporter that hangs, and an invocation with 600 ms left
    exporter = StuckExporter()
    processor = BackpressureSpanProcessor(
        exporter, max_queue_size=64, max_export_batch_size=8, schedule_delay_millis=60_000
    )
    telemetry = build_telemetry(span_processors=[processor], metric_readers=[], shutdown_on_exit=False)
    previous = use_telemetry(telemetry)
    try:

        @instrument_handler(name="fn")
        def handler(event: Any, context: Any) -> str:
            return "ok"

        # When the handler returns
        started = time.monotonic()
        assert handler({}, FakeLambdaContext(timeout_ms=600)) == "ok"
        elapsed_ms = (time.monotonic() - started) * 1000
    finally:
        use_telemetry(previous)
        exporter.release.set()
        telemetry.shutdown()
    # Then it gave up on the flush in time instead of running into the timeout
    assert elapsed_ms < 600
    assert "did not finish" in caplog.text
    # And the span was not lost: it was exported once the endpoint answered
    assert exporter.exported == ["fn"]


def test_an_invocation_never_joins_the_callers_open_span(memory: InMemoryTelemetry) -> None:
    # The local runtime calls handlers in-process, maybe while some span of its own is open
    @instrument_handler(name="fn")
    def handler(event: Any, context: Any) -> None:
        return None

    with memory.telemetry.tracer.start_as_current_span("local pump"):
        handler(sqs_event([sqs_record({})]), FakeLambdaContext())
    assert memory.span("fn").parent is None
