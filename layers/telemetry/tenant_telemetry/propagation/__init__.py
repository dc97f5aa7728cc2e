"""Context propagation, written out per carrier: SQS, S3 object metadata, JSON payloads.

Extraction never fails an invocation: a missing or malformed carrier logs a warning and gives a fresh
context, so the work starts a new trace.
"""

from tenant_telemetry.propagation.payload import TRACE_FIELD, inject_payload, payload_context
from tenant_telemetry.propagation.s3 import inject_object_metadata, object_context
from tenant_telemetry.propagation.sqs import (
    MAX_MESSAGE_ATTRIBUTES,
    inject_batch_entries,
    inject_message_attributes,
    record_context,
    record_context_or_none,
    xray_context,
)
from tenant_telemetry.propagation.w3c import extract, inject

__all__ = [
    "MAX_MESSAGE_ATTRIBUTES",
    "TRACE_FIELD",
    "extract",
    "inject",
    "inject_batch_entries",
    "inject_message_attributes",
    "inject_object_metadata",
    "inject_payload",
    "object_context",
    "payload_context",
    "record_context",
    "record_context_or_none",
    "xray_context",
]
