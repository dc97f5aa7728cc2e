"""Trace context in a `trace` field of a JSON payload: Step Functions execution input, direct invokes.

The field holds a W3C carrier, `{"traceparent": "00-...", "tracestate": "..."}`. A state machine passes it
from state to state when each Task's payload includes `"trace.$": "$.trace"`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context

from tenant_telemetry.propagation import w3c

TRACE_FIELD = "trace"


def inject_payload(payload: Mapping[str, Any], *, context: Context | None = None) -> dict[str, Any]:
    """A copy of `payload` whose `trace` field carries the current (or `context`'s) span."""
    return {**payload, TRACE_FIELD: w3c.inject(context)}


def payload_context(payload: Any, *, source: str = "payload") -> Context:
    """The caller's context from the payload's `trace` field, or a fresh context with a warning."""
    carrier = payload.get(TRACE_FIELD) if isinstance(payload, Mapping) else None
    if isinstance(carrier, str):  # a bare traceparent is accepted too
        carrier = {w3c.TRACEPARENT: carrier}
    return w3c.extract(carrier if isinstance(carrier, Mapping) else None, source=f"{source} {TRACE_FIELD!r}")
