"""The handler decorator: one invocation span per invocation, and a bounded flush before it returns.

```python
@instrument_handler
def lambda_handler(event, context): ...
```

The span follows the FaaS semantic conventions (`faas.trigger`, `faas.invocation_id`, `faas.coldstart`).
An SQS batch also gets its CONSUMER `process {queue}` span with one link per message (see messaging.py).
A JSON payload with a `trace` field (Step Functions, a direct invoke) parents the invocation span.

Before the invocation returns, and also when it raises, every finished span and metric point is exported,
bounded by the time the invocation has left: after the return the sandbox may be frozen for hours or
reclaimed, and whatever was still queued would be late or lost.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar, overload

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from tenant_telemetry.messaging import batch_span
from tenant_telemetry.propagation import w3c
from tenant_telemetry.propagation.payload import payload_context
from tenant_telemetry.providers import configure, flush_budget_ms, get_telemetry

R = TypeVar("R")
Handler = Callable[[Any, Any], R]

_RECORD_TRIGGERS = {
    "aws:sqs": "pubsub",
    "aws:sns": "pubsub",
    "aws:kinesis": "pubsub",
    "aws:s3": "datasource",
    "aws:dynamodb": "datasource",
}


@overload
def instrument_handler(handler: Handler[R], /) -> Handler[R]: ...
@overload
def instrument_handler(*, name: str | None = None) -> Callable[[Handler[R]], Handler[R]]: ...
def instrument_handler(
    handler: Handler[R] | None = None, /, *, name: str | None = None
) -> Handler[R] | Callable[[Handler[R]], Handler[R]]:
    """Wrap a Lambda handler; usable bare (`@instrument_handler`) or with a span name."""

    def decorate(fn: Handler[R]) -> Handler[R]:
        configure()  # at import, so the set-up happens in the init phase, once per cold start
        cold = [os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"]

        @functools.wraps(fn)
        def wrapper(event: Any, context: Any) -> R:
            telemetry = get_telemetry()
            coldstart, cold[0] = cold[0], False
            trigger, parent, records = describe_event(event)
            attributes = _invocation_attributes(context, trigger, coldstart)
            span_name = name or getattr(context, "function_name", None) or fn.__name__
            try:
                # Context(), not the current one: an invocation never joins whatever span its caller had open
                with telemetry.tracer.start_as_current_span(
                    span_name, context=parent or Context(), kind=SpanKind.SERVER, attributes=attributes
                ) as span:
                    scope: AbstractContextManager[Any] = batch_span(records) if records else nullcontext()
                    with scope:
                        result = fn(event, context)
                    _annotate_result(span, result)
                    return result
            finally:
                telemetry.flush(flush_budget_ms(_remaining_ms(context)))

        return wrapper

    return decorate if handler is None else decorate(handler)


def describe_event(event: Any) -> tuple[str, Context | None, list[Any] | None]:
    """`faas.trigger`, the parent context (None: a new trace), and the records of an SQS batch."""
    if not isinstance(event, Mapping):
        return "other", None, None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        if source in _RECORD_TRIGGERS:
            return _RECORD_TRIGGERS[source], None, records if source == "aws:sqs" else None
    if "httpMethod" in event or "routeKey" in event:
        headers = event.get("headers") or {}
        lowered = {str(k).lower(): v for k, v in headers.items()} if isinstance(headers, Mapping) else {}
        return "http", w3c.extract_or_none(lowered), None
    if event.get("source") == "aws.events" or "detail-type" in event:
        return ("timer" if event.get("detail-type") == "Scheduled Event" else "pubsub"), None, None
    return "other", payload_context(event, source="invocation payload"), None


def _invocation_attributes(context: Any, trigger: str, coldstart: bool) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {"faas.trigger": trigger, "faas.coldstart": coldstart}
    if request_id := getattr(context, "aws_request_id", None):
        attributes["faas.invocation_id"] = str(request_id)
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str) and arn.startswith("arn:"):
        attributes["cloud.resource_id"] = arn
        parts = arn.split(":")
        if len(parts) > 4 and parts[4]:
            attributes["cloud.account.id"] = parts[4]
    return attributes


def _annotate_result(span: Span, result: Any) -> None:
    """A partial batch response: the number of messages that go back to the queue."""
    if isinstance(result, Mapping) and isinstance(result.get("batchItemFailures"), list):
        span.set_attribute("aws.lambda.batch_item_failures", len(result["batchItemFailures"]))


def _remaining_ms(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    try:
        return float(remaining())
    except (TypeError, ValueError):
        return None
