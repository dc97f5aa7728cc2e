"""Consumer spans for SQS batches, after the messaging semantic conventions.

One batch of messages from many producers cannot have one parent, so the batch gets a CONSUMER span
`process {queue}` in the invocation's trace with one span link per message; the work on each message can
then run in `consumer_span(record)`, a child of that message's own context, which joins the producer's
trace (the job's) and links back to the batch span.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Link, Span, SpanKind
from opentelemetry.util.types import AttributeValue

from tenant_telemetry.propagation.sqs import raw_record, record_context, record_context_or_none
from tenant_telemetry.providers import get_telemetry

MESSAGING_SYSTEM = "aws_sqs"


def queue_name(record: Any) -> str:
    """The queue's name from the record's `eventSourceARN` (`arn:aws:sqs:region:account:name`)."""
    arn = raw_record(record).get("eventSourceARN")
    return arn.rsplit(":", 1)[-1] if isinstance(arn, str) and arn else "unknown"


def message_id(record: Any) -> str:
    raw = raw_record(record)
    return str(raw.get("messageId") or raw.get("MessageId") or "")


def batch_links(records: Sequence[Any]) -> list[Link]:
    """One link per message, to its producer's span (an empty context where it carried none)."""
    links = []
    for record in records:
        context = record_context_or_none(record)
        span_context = INVALID_SPAN_CONTEXT
        if context is not None:
            span_context = trace.get_current_span(context).get_span_context()
        links.append(Link(span_context, {"messaging.message.id": message_id(record)}))
    return links


@contextmanager
def batch_span(records: Sequence[Any], *, queue: str | None = None) -> Iterator[Span]:
    """The CONSUMER `process {queue}` span of a batch, child of the current span, current while open."""
    queue = queue or (queue_name(records[0]) if records else "unknown")
    attributes: dict[str, AttributeValue] = {
        **_common_attributes(queue),
        "messaging.batch.message_count": len(records),
    }
    with get_telemetry().tracer.start_as_current_span(
        f"process {queue}", kind=SpanKind.CONSUMER, attributes=attributes, links=batch_links(records)
    ) as span:
        yield span


@contextmanager
def consumer_span(record: Any, *, name: str | None = None) -> Iterator[Span]:
    """A CONSUMER span for one message, child of the producer's context, linked to the current span."""
    queue = queue_name(record)
    current = trace.get_current_span().get_span_context()
    links = [Link(current)] if current.is_valid else []
    attributes: dict[str, AttributeValue] = {
        **_common_attributes(queue),
        "messaging.message.id": message_id(record),
    }
    with get_telemetry().tracer.start_as_current_span(
        name or f"process {queue}",
        context=record_context(record),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=links,
    ) as span:
        yield span


def _common_attributes(queue: str) -> dict[str, str]:
    return {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": queue,
    }
