"""W3C trace context in a plain string carrier: the one format every other carrier here wraps.

Only `traceparent` and `tracestate` travel (no baggage): they are what the carriers have room for, and the
composite global propagator would also make `opentelemetry.propagate` scan entry points at import.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_log = logging.getLogger("tenant_telemetry.propagation")
_propagator = TraceContextTextMapPropagator()

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
FIELDS = (TRACEPARENT, TRACESTATE)


def inject(context: Context | None = None) -> dict[str, str]:
    """`traceparent` (and `tracestate` when not empty) of the current span, or of `context`'s span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=context)
    return carrier


def extract(carrier: Mapping[str, str] | None, *, source: str) -> Context:
    """The remote parent described by `carrier`, or a fresh context (a new trace) with a warning.

    A fresh `Context()` rather than the current one: a message that lost its context must not join the
    trace of whatever happens to be current (an invocation span of another job's batch).
    """
    context = extract_or_none(carrier)
    if context is not None:
        return context
    if not carrier or not carrier.get(TRACEPARENT):
        warn_new_trace(source, "no traceparent")
    else:
        warn_new_trace(source, f"malformed traceparent {carrier.get(TRACEPARENT)!r:.80}")
    return Context()


def extract_or_none(carrier: Mapping[str, str] | None) -> Context | None:
    """The remote parent described by `carrier`, or None when it has no valid `traceparent`."""
    if not carrier or not isinstance(carrier.get(TRACEPARENT), str):
        return None
    context = _propagator.extract({key: carrier[key] for key in FIELDS if isinstance(carrier.get(key), str)})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def warn_new_trace(source: str, reason: str) -> None:
    _log.warning("%s: %s; starting a new trace", source, reason)
