"""The layer's OTLP protobuf encoder writes what the official encoder writes, byte for byte.

The official encoder (opentelemetry-exporter-otlp-proto-common, with opentelemetry-proto and protobuf) is a
development dependency only: these tests give both the same spans and metric points, generated with
hypothesis, and compare the serialised requests; the receiver side decodes with the official classes.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics as official_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as official_spans
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from tenant_telemetry.exporters.otlp_proto import encode_metrics, encode_spans
from tenant_telemetry.providers import DELTA_TEMPORALITY

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=False)  # NaN != NaN would defeat the decode comparison; bytes are compared too
KEYS = st.text(min_size=0, max_size=12)
SCALARS = st.one_of(st.text(max_size=20), st.booleans(), INT64, FLOATS)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.text(max_size=8), max_size=4).map(tuple),
    st.lists(st.booleans(), max_size=4),
    st.lists(INT64, max_size=4).map(tuple),
    st.lists(FLOATS, max_size=4),
)
ATTRIBUTES = st.dictionaries(KEYS, VALUES, max_size=6)
TRACE_IDS = st.integers(min_value=1, max_value=2**128 - 1)
SPAN_IDS = st.integers(min_value=1, max_value=2**64 - 1)
TIMES = st.integers(min_value=0, max_value=2**63 - 1)
SPAN_CONTEXTS = st.builds(
    SpanContext,
    trace_id=TRACE_IDS,
    span_id=SPAN_IDS,
    is_remote=st.booleans(),
    trace_flags=st.sampled_from([TraceFlags(0), TraceFlags(1)]),
    trace_state=st.sampled_from([TraceState(), TraceState([("vendor", "x1"), ("other", "y")])]),
)

SPAN = st.fixed_dictionaries(
    {
        "name": st.text(max_size=30),
        "kind": st.sampled_from(list(SpanKind)),
        "attributes": ATTRIBUTES,
        "parent": st.none() | SPAN_CONTEXTS,
        "start": TIMES,
        "duration": st.integers(min_value=0, max_value=10**12),
        "events": st.lists(st.tuples(st.text(max_size=10), ATTRIBUTES, TIMES), max_size=3),
        "links": st.lists(st.tuples(SPAN_CONTEXTS, ATTRIBUTES), max_size=3),
        "status": st.sampled_from(
            [None, Status(StatusCode.OK), Status(StatusCode.ERROR, "it broke"), Status(StatusCode.ERROR)]
        ),
        "scope": st.sampled_from([("a", None, None), ("b", "1.2", "https://schema/1"), ("", "", None)]),
    }
)


def make_spans(specs: list[dict[str, Any]], resource_attributes: dict[str, Any]) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    # Low limits, so dropped attribute, event and link counts are exercised too.
    provider = TracerProvider(
        resource=Resource(resource_attributes, schema_url="https://schema/r"),
        span_limits=SpanLimits(max_attributes=4, max_events=2, max_links=2),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for spec in specs:
        name, version, schema_url = spec["scope"]
        tracer = provider.get_tracer(name, version, schema_url)
        parent = Context()
        if spec["parent"] is not None:
            parent = set_span_in_context(NonRecordingSpan(spec["parent"]), Context())
        span = tracer.start_span(
            spec["name"],
            context=parent,
            kind=spec["kind"],
            attributes=spec["attributes"],
            links=[Link(context, attributes) for context, attributes in spec["links"]],
            start_time=spec["start"],
        )
        for name, attributes, timestamp in spec["events"]:
            span.add_event(name, attributes, timestamp)
        if spec["status"] is not None:
            span.set_status(spec["status"])
        span.end(end_time=spec["start"] + spec["duration"])
    return list(exporter.get_finished_spans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(SPAN, min_size=1, max_size=5), resource_attributes=ATTRIBUTES)
def test_spans_encode_as_the_official_encoder_does(
    specs: list[dict[str, Any]], resource_attributes: dict[str, Any]
) -> None:
    spans = make_spans(specs, resource_attributes)

    ours = encode_spans(spans)
    official = official_spans(spans)

    assert ours == official.SerializePartialToString()
    assert ExportTraceServiceRequest.FromString(ours) == official


def test_spans_of_two_resources_are_grouped_by_resource_then_scope() -> None:
    first = make_spans([_span_spec("a"), _span_spec("b", scope=("s2", "1", None))], {"service.name": "one"})
    second = make_spans([_span_spec("c")], {"service.name": "two"})
    spans = [first[0], second[0], first[1]]

    decoded = ExportTraceServiceRequest.FromString(encode_spans(spans))

    assert [
        [[span.name for span in scope.spans] for scope in resource.scope_spans]
        for resource in decoded.resource_spans
    ] == [[["a"], ["b"]], [["c"]]]
    assert encode_spans(spans) == official_spans(spans).SerializePartialToString()


def test_an_attribute_the_wire_format_cannot_hold_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    spans = make_spans([_span_spec("big", attributes={"huge": 2**64, "kept": 1})], {})

    with caplog.at_level(logging.ERROR):
        decoded = ExportTraceServiceRequest.FromString(encode_spans(spans))

    span = decoded.resource_spans[0].scope_spans[0].spans[0]
    assert [attribute.key for attribute in span.attributes] == ["kept"]
    assert "huge" in caplog.text
    assert encode_spans(spans) == official_spans(spans).SerializePartialToString()


def test_no_spans_is_an_empty_request() -> None:
    assert encode_spans([]) == b""
    assert ExportTraceServiceRequest.FromString(b"") == official_spans([])


def _span_spec(
    name: str, *, scope: tuple[str, str | None, str | None] = ("s", None, None), **extra: Any
) -> Any:
    return {
        "name": name,
        "kind": SpanKind.INTERNAL,
        "attributes": {},
        "parent": None,
        "start": 1,
        "duration": 1,
        "events": [],
        "links": [],
        "status": None,
        "scope": scope,
        **extra,
    }


NUMBERS = st.one_of(st.integers(min_value=0, max_value=2**40), st.floats(min_value=0, max_value=1e12))
MEASUREMENTS = st.lists(st.tuples(NUMBERS, ATTRIBUTES), min_size=1, max_size=5)


MEASURED = st.fixed_dictionaries(
    {
        "counts": MEASUREMENTS,
        "levels": st.lists(st.tuples(st.integers(-(2**40), 2**40), ATTRIBUTES), max_size=4),
        "samples": st.lists(st.tuples(st.floats(min_value=-1e9, max_value=1e9), ATTRIBUTES), max_size=5),
        "gauges": st.lists(st.tuples(st.one_of(INT64, FLOATS), ATTRIBUTES), max_size=3),
        "exponential": st.lists(st.floats(min_value=-1e6, max_value=1e6), max_size=6),
    }
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(measured=MEASURED, in_span=st.booleans(), resource_attributes=ATTRIBUTES)
def test_metric_points_encode_as_the_official_encoder_does(
    measured: dict[str, Any], in_span: bool, resource_attributes: dict[str, Any]
) -> None:
    reader = InMemoryMetricReader(preferred_temporality=DELTA_TEMPORALITY)
    resource = Resource(resource_attributes)
    provider = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[View(instrument_name="exp", aggregation=ExponentialBucketHistogramAggregation(max_size=20))],
        shutdown_on_exit=False,
    )
    meter = provider.get_meter("scope", "1.0", schema_url="https://schema/m")
    counter = meter.create_counter("count", unit="{record}", description="records")
    up_down = meter.create_up_down_counter("level")
    histogram = meter.create_histogram("duration", unit="s", explicit_bucket_boundaries_advisory=[0, 1, 10])
    gauge = meter.create_gauge("gauge")
    exp = meter.create_histogram("exp")
    # Inside a sampled span, measurements keep exemplars with the span's ids.
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    span = tracer.start_span("record") if in_span else NonRecordingSpan(SpanContext(0, 0, False))
    context = set_span_in_context(span, Context())
    for value, attributes in measured["counts"]:
        counter.add(abs(value), attributes, context=context)
    for value, attributes in measured["levels"]:
        up_down.add(value, attributes, context=context)
    for value, attributes in measured["samples"]:
        histogram.record(value, attributes, context=context)
    for value, attributes in measured["gauges"]:
        if not math.isinf(value):
            gauge.set(value, attributes, context=context)
    for value in measured["exponential"]:
        exp.record(value, context=context)
    data = reader.get_metrics_data()
    assert data is not None

    ours = encode_metrics(data)
    official = official_metrics(data)

    assert ours == official.SerializePartialToString()
    assert ExportMetricsServiceRequest.FromString(ours) == official
