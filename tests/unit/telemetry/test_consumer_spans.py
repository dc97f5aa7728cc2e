"""The CONSUMER span of an SQS batch (one link per message) and the per-message span."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tenant_telemetry import batch_span, consumer_span
from tenant_telemetry.propagation import inject_message_attributes
from tenant_telemetry.testing import InMemoryTelemetry
from tests.unit.telemetry.lambda_shapes import QUEUE, sqs_record


def producer_records(memory: InMemoryTelemetry, count: int) -> tuple[list[dict], list[int]]:
    """`count` records, each sent by its own producer span (in its own trace)."""
    records, producers = [], []
    for i in range(count):
        with memory.telemetry.tracer.start_as_current_span(f"producer {i}") as producer:
            attributes = inject_message_attributes()
        records.append(sqs_record({"MessageAttributes": attributes}, message_id=f"m-{i}"))
        producers.append(producer.get_span_context().span_id)
    return records, producers


def test_batch_span_has_one_link_per_message(memory: InMemoryTelemetry) -> None:
    records, producers = producer_records(memory, 3)
    # A message from a producer without context still gets its link, with its message id
    records.append(sqs_record({}, message_id="m-orphan"))
    with batch_span(records):
        pass
    span = memory.span(f"process {QUEUE}")
    assert span.kind is SpanKind.CONSUMER
    assert span.attributes is not None
    assert span.attributes["messaging.system"] == "aws_sqs"
    assert span.attributes["messaging.batch.message_count"] == 4
    assert span.attributes["messaging.destination.name"] == QUEUE
    assert span.attributes["messaging.operation.type"] == "process"
    assert [link.attributes["messaging.message.id"] for link in span.links if link.attributes] == [
        "m-0",
        "m-1",
        "m-2",
        "m-orphan",
    ]
    assert [link.context.span_id for link in span.links[:3]] == producers
    assert not span.links[3].context.is_valid


def test_per_message_work_joins_the_producers_trace(memory: InMemoryTelemetry) -> None:
    records, producers = producer_records(memory, 2)
    with batch_span(records) as batch:
        for record in records:
            with (
                consumer_span(record, name="data.import.batch"),
                memory.telemetry.tracer.start_as_current_span("store.batch_write"),
            ):
                pass
    spans = [span for span in memory.spans() if span.name == "data.import.batch"]
    assert [span.parent.span_id for span in spans if span.parent] == producers
    for span in spans:
        assert span.kind is SpanKind.CONSUMER
        assert span.attributes is not None
        assert str(span.attributes["messaging.message.id"]).startswith("m-")
        # linked back to the batch span, which lives in the invocation's trace
        assert [link.context.span_id for link in span.links] == [batch.get_span_context().span_id]
    # the work inside each message span is its child, in the producer's trace
    writes = [span for span in memory.spans() if span.name == "store.batch_write"]
    assert [w.parent.span_id for w in writes if w.parent] == [s.context.span_id for s in spans if s.context]


def test_consumer_span_default_name_is_process_queue(memory: InMemoryTelemetry) -> None:
    records, _ = producer_records(memory, 1)
    with consumer_span(records[0]):
        pass
    assert memory.names()[-1] == f"process {QUEUE}"
