"""The X-Ray trace header (`AWSTraceHeader` of an SQS message), read as a parent span context.

Format: `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`, fields in any order,
`Lineage` and others ignored. The X-Ray trace id is the 8-hex epoch and the 24-hex random part, which
together are the 32-hex W3C trace id.
"""

from __future__ import annotations

import re

from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

_ROOT = re.compile(r"^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$")
_PARENT = re.compile(r"^[0-9a-fA-F]{16}$")


def parse_xray_header(header: str) -> SpanContext | None:
    """The span context of the header, or None when it has no valid root and parent."""
    fields: dict[str, str] = {}
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    root = _ROOT.match(fields.get("Root", ""))
    parent = fields.get("Parent", "")
    if root is None or not _PARENT.match(parent):
        return None
    context = SpanContext(
        trace_id=int(root.group(1) + root.group(2), 16),
        span_id=int(parent, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if fields.get("Sampled") == "1" else TraceFlags.DEFAULT),
    )
    return context if context.is_valid else None


def xray_context(header: str) -> Context | None:
    """A context whose current span is the header's remote parent, or None."""
    span_context = parse_xray_header(header)
    return None if span_context is None else set_span_in_context(NonRecordingSpan(span_context), Context())
