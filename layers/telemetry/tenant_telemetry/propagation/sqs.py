"""Trace context through SQS: message attributes on send, and back out of a Lambda SQS record.

botocore instrumentation does not propagate through SQS, so producers call `inject_message_attributes`
(`SendMessage`) or `inject_batch_entries` (`SendMessageBatch`), and consumers `record_context`. SQS allows
ten message attributes: when the message has no room left, the context is skipped with a warning and the
send goes on. On receive, the W3C attributes win; a message without them (sent by a producer that only has
X-Ray) falls back to the `AWSTraceHeader` system attribute, read by opentelemetry-propagator-aws-xray.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.propagators.aws.aws_xray_propagator import TRACE_HEADER_KEY, AwsXRayPropagator
from opentelemetry.trace import get_current_span

from tenant_telemetry.propagation import w3c

_log = logging.getLogger("tenant_telemetry.propagation")

MAX_MESSAGE_ATTRIBUTES = 10
XRAY_ATTRIBUTE = "AWSTraceHeader"
_XRAY = AwsXRayPropagator()


def inject_message_attributes(
    attributes: Mapping[str, Any] | None = None, *, context: Context | None = None
) -> dict[str, Any]:
    """`attributes` (a `MessageAttributes` value of `SendMessage`) plus the current trace context.

    Never raises: a send is worth more than its span link.
    """
    result = dict(attributes or {})
    try:
        carrier = w3c.inject(context)
    except Exception:
        _log.warning("could not serialise the trace context for SQS; sending without it", exc_info=True)
        return result
    for key in w3c.FIELDS:
        if key not in carrier:
            continue
        if key not in result and len(result) >= MAX_MESSAGE_ATTRIBUTES:
            _log.warning(
                "SQS message already has %d attributes (the limit is %d); %s not sent",
                len(result),
                MAX_MESSAGE_ATTRIBUTES,
                " and ".join(k for k in w3c.FIELDS if k in carrier and k not in result),
            )
            break  # tracestate means nothing without traceparent
        result[key] = {"DataType": "String", "StringValue": carrier[key]}
    return result


def inject_batch_entries(
    entries: Sequence[Mapping[str, Any]], *, context: Context | None = None
) -> list[dict[str, Any]]:
    """The `Entries` of a `SendMessageBatch`, each with the trace context in its `MessageAttributes`."""
    injected = []
    for entry in entries:
        attributes = inject_message_attributes(entry.get("MessageAttributes"), context=context)
        injected.append({**entry, "MessageAttributes": attributes})
    return injected


def record_context(record: Any) -> Context:
    """The producer's context of a Lambda SQS record (a dict, or Powertools' `SQSRecord`).

    A record without a usable context gives a fresh context, so the work starts a new trace, and a warning.
    """
    context = record_context_or_none(record)
    if context is not None:
        return context
    carrier = _w3c_carrier(raw_record(record))
    reason = f"malformed traceparent {carrier[w3c.TRACEPARENT]!r:.80}" if carrier else "no trace context"
    w3c.warn_new_trace(f"SQS message {raw_record(record).get('messageId', '?')}", reason)
    return Context()


def record_context_or_none(record: Any) -> Context | None:
    """The producer's context of a record, or None without a warning (for span links)."""
    raw = raw_record(record)
    context = w3c.extract_or_none(_w3c_carrier(raw))
    if context is not None:
        return context
    system = raw.get("attributes") or raw.get("Attributes") or {}
    header = system.get(XRAY_ATTRIBUTE) if isinstance(system, Mapping) else None
    return xray_context(header) if isinstance(header, str) else None


def xray_context(header: str) -> Context | None:
    """The context whose current span is the X-Ray header's remote parent, or None when the header has no
    valid root and parent."""
    context = _XRAY.extract({TRACE_HEADER_KEY: header}, context=Context())
    return context if get_current_span(context).get_span_context().is_valid else None


def raw_record(record: Any) -> Mapping[str, Any]:
    """The record as a mapping: a dict as is, Powertools' `SQSRecord` by its `raw_event`."""
    raw = getattr(record, "raw_event", record)
    return raw if isinstance(raw, Mapping) else {}


def _w3c_carrier(raw: Mapping[str, Any]) -> dict[str, str]:
    """String values of the W3C attributes, from the Lambda shape (`messageAttributes.*.stringValue`) or
    the `ReceiveMessage` shape (`MessageAttributes.*.StringValue`)."""
    attributes = raw.get("messageAttributes") or raw.get("MessageAttributes") or {}
    if not isinstance(attributes, Mapping):
        return {}
    carrier: dict[str, str] = {}
    for key in w3c.FIELDS:
        value = attributes.get(key)
        if isinstance(value, Mapping):
            text = value.get("stringValue", value.get("StringValue"))
            if isinstance(text, str):
                carrier[key] = text
    return carrier
