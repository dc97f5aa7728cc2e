"""One trace per job, whose root span covers the whole job across any number of invocations.

A job starts in one invocation and completes in another (often in another function), and a span cannot
stay open across them: a sandbox may freeze or die between two invocations. So the root is split in two:

1. `JobTrace.start(...)` allocates the root's ids (and takes the sampling decision) when the job starts.
   The result is plain data (`to_dict()`), kept in the job record and handed to every later invocation.
2. Every span of the job is parented on `job.context()` (or opened with `job.span(...)`), in any process.
3. `job.complete(...)` emits the root span itself, with the allocated ids, the job's real start time and
   the completion time, so the spans emitted earlier find their parent when the trace is assembled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from opentelemetry.util.types import AttributeValue

from tenant_telemetry.ids import preset_ids
from tenant_telemetry.propagation import w3c
from tenant_telemetry.providers import get_telemetry


class JobTraceError(ValueError):
    """A stored job trace could not be read back."""


@dataclass(frozen=True)
class JobTrace:
    """The allocated root of a job's trace: serialisable, so it can live in the job record."""

    name: str
    trace_id: int
    span_id: int
    trace_flags: int
    start_time_ns: int
    parent_span_id: int | None = None
    trace_state: str = ""
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        name: str,
        *,
        parent: Context | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
        start_time_ns: int | None = None,
    ) -> JobTrace:
        """Allocate a job's root. With `parent` (the uploader's context, say), the job joins that trace;
        without, it starts a new one (never the current span's: that is the invocation's trace)."""
        provider = get_telemetry().tracer_provider
        parent_context = trace.get_current_span(parent).get_span_context() if parent is not None else None
        attributes = dict(attributes or {})
        if parent_context is not None and parent_context.is_valid:
            trace_id = parent_context.trace_id
            random_id = parent_context.trace_flags.random_trace_id
        else:
            parent_context = None
            trace_id = provider.id_generator.generate_trace_id()
            random_id = provider.id_generator.is_trace_id_random()
        # The same decision the SDK takes in start_span, so the root emitted later is sampled alike.
        sampling = provider.sampler.should_sample(
            parent if parent_context is not None else Context(), trace_id, name, SpanKind.INTERNAL, attributes
        )
        flags = TraceFlags.SAMPLED if sampling.decision.is_sampled() else TraceFlags.DEFAULT
        if random_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        return cls(
            name=name,
            trace_id=trace_id,
            span_id=provider.id_generator.generate_span_id(),
            trace_flags=flags,
            start_time_ns=time.time_ns() if start_time_ns is None else start_time_ns,
            parent_span_id=parent_context.span_id if parent_context is not None else None,
            trace_state=sampling.trace_state.to_header() if sampling.trace_state else "",
            attributes=attributes,
        )

    @property
    def span_context(self) -> SpanContext:
        return SpanContext(
            trace_id=self.trace_id,
            span_id=self.span_id,
            is_remote=True,
            trace_flags=TraceFlags(self.trace_flags),
            trace_state=TraceState.from_header([self.trace_state]) if self.trace_state else TraceState(),
        )

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{self.trace_flags:02x}"

    @property
    def trace_id_hex(self) -> str:
        return f"{self.trace_id:032x}"

    def context(self) -> Context:
        """A context whose current span is the job's root: the parent of every span of the job."""
        return set_span_in_context(NonRecordingSpan(self.span_context), Context())

    @contextmanager
    def span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
        links: Sequence[Link] = (),
    ) -> Iterator[Span]:
        """A span of the job (a phase, a batch), child of its root, current while the block runs."""
        with get_telemetry().tracer.start_as_current_span(
            name, context=self.context(), kind=kind, attributes=attributes, links=links
        ) as span:
            yield span

    def complete(
        self,
        *,
        end_time_ns: int | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
        error: BaseException | str | None = None,
    ) -> None:
        """Emit the root span: allocated ids, the job's start time, ended now (or at `end_time_ns`).

        Call it once per job (the job ledger's completion is conditional, so only one invocation does).
        """
        telemetry = get_telemetry()
        parent = Context()
        if self.parent_span_id is not None:
            parent_context = SpanContext(
                self.trace_id, self.parent_span_id, is_remote=True, trace_flags=TraceFlags(self.trace_flags)
            )
            parent = set_span_in_context(NonRecordingSpan(parent_context), Context())
        with preset_ids(self.trace_id, self.span_id):
            span = telemetry.tracer.start_span(
                self.name,
                context=parent,
                attributes={**self.attributes, **(attributes or {})},
                start_time=self.start_time_ns,
            )
        if isinstance(error, BaseException):
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        elif error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end_time_ns)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data for the job record; `from_dict` reads it back."""
        data: dict[str, Any] = {
            "name": self.name,
            "traceparent": self.traceparent,
            "start_time_unix_nano": self.start_time_ns,
            "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in self.attributes.items()},
        }
        if self.trace_state:
            data["tracestate"] = self.trace_state
        if self.parent_span_id is not None:
            data["parent_span_id"] = f"{self.parent_span_id:016x}"
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobTrace:
        context = w3c.extract_or_none({"traceparent": data.get("traceparent", "")})
        if context is None:
            raise JobTraceError(f"job trace has no valid traceparent: {data.get('traceparent')!r}")
        span_context = trace.get_current_span(context).get_span_context()
        try:
            parent = data.get("parent_span_id")
            return cls(
                name=str(data["name"]),
                trace_id=span_context.trace_id,
                span_id=span_context.span_id,
                trace_flags=int(span_context.trace_flags),
                start_time_ns=int(data["start_time_unix_nano"]),
                parent_span_id=int(parent, 16) if parent else None,
                trace_state=str(data.get("tracestate", "")),
                attributes={
                    key: tuple(value) if isinstance(value, list) else value
                    for key, value in dict(data.get("attributes", {})).items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JobTraceError(f"job trace is incomplete: {exc}") from exc
