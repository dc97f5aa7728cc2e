"""OTLP protobuf bodies (`ExportTraceServiceRequest`, `ExportMetricsServiceRequest`) written as wire bytes.

The official encoders build `opentelemetry-proto` message objects and serialise them with `protobuf`:
importing those is about 60% of this layer's cold start when shipped without bytecode (the protobuf
runtime and the generated descriptor pool compile on every cold start), for messages whose wire format
is a handful of varints, fixed-width numbers and length-prefixed fields. This module writes the same
bytes directly: the same fields as opentelemetry-exporter-otlp-proto-common sets, in field-number order
as protobuf serialises them (the tests compare both encoders' output on the same spans and points).

An attribute that cannot be encoded (an integer outside int64, an unsupported type, a string that is not
valid Unicode) is left out with a logged error, as the official encoder does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from struct import Struct
from typing import Any

from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    Metric,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

_log = logging.getLogger(__name__)

_DOUBLE = Struct("<d").pack
_FIXED64 = Struct("<Q").pack
_FIXED32 = Struct("<I").pack
_SFIXED64 = Struct("<q").pack
_UINT64_MASK = (1 << 64) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_SMALL = [bytes((value,)) for value in range(0x80)]

# Span flags (trace.proto `SpanFlags`): the parent's (or link's) is_remote is known, and whether it is set.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def _varint(value: int) -> bytes:
    """Base-128 varint of a non-negative integer (negative int64 values are masked to 64 bits first)."""
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _len(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: a submessage, a string, bytes or a packed repeated field."""
    return tag + _varint(len(payload)) + payload


def _str(tag: bytes, text: str | None) -> bytes:
    """A proto3 string field: left out when empty, as protobuf does for fields without presence."""
    return _len(tag, text.encode()) if text else b""


def _fixed64(tag: bytes, value: int | None) -> bytes:
    return tag + _FIXED64(value) if value else b""


def _uint(tag: bytes, value: int | None) -> bytes:
    return tag + _varint(value) if value else b""


# AnyValue
_STRING_VALUE, _BOOL_TRUE, _BOOL_FALSE = _tag(1, 2), _tag(2, 0) + b"\x01", _tag(2, 0) + b"\x00"
_INT_VALUE, _DOUBLE_VALUE, _ARRAY_VALUE = _tag(3, 0), _tag(4, 1), _tag(5, 2)
_KVLIST_VALUE, _BYTES_VALUE = _tag(6, 2), _tag(7, 2)
# KeyValue, ArrayValue.values, KeyValueList.values
_KEY, _VALUE, _VALUES = _tag(1, 2), _tag(2, 2), _tag(1, 2)


def _any_value(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bool | str | int | float | bytes):
        return _scalar_value(value)
    if isinstance(value, Sequence):
        return _len(_ARRAY_VALUE, b"".join(_len(_VALUES, _any_value(item)) for item in value))
    if isinstance(value, Mapping):
        pairs = b"".join(_len(_VALUES, _key_value(str(key), item)) for key, item in value.items())
        return _len(_KVLIST_VALUE, pairs)
    raise TypeError(f"invalid attribute value type {type(value).__name__}")


def _scalar_value(value: bool | str | int | float | bytes) -> bytes:
    """The oneof member of a scalar: always written, even when it is the type's zero."""
    if isinstance(value, bool):
        return _BOOL_TRUE if value else _BOOL_FALSE
    if isinstance(value, str):
        return _len(_STRING_VALUE, value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer {value} is outside int64")
        return _INT_VALUE + _varint(value & _UINT64_MASK)
    if isinstance(value, float):
        return _DOUBLE_VALUE + _DOUBLE(value)
    return _len(_BYTES_VALUE, value)


def _key_value(key: str, value: Any) -> bytes:
    return _str(_KEY, key) + _len(_VALUE, _any_value(value))


_ENCODED_ATTRIBUTES: dict[tuple[bytes, str, type, Any], bytes] = {}
"""Encoded scalar attributes: most recur on every export of a process (service, queue, entity, status)."""
_MAX_ENCODED_ATTRIBUTES = 4096
_CACHEABLE = (str, bool, int)


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
    """Repeated `KeyValue` field `tag`; an attribute that cannot be encoded is logged and left out."""
    if not attributes:
        return b""
    parts = []
    for key, value in attributes.items():
        kind = type(value)
        # (True == 1: the type is part of the key)
        cache_key = (tag, key, kind, value) if kind in _CACHEABLE else None
        if cache_key is not None and (cached := _ENCODED_ATTRIBUTES.get(cache_key)) is not None:
            parts.append(cached)
            continue
        try:
            encoded = _len(tag, _key_value(key, value))
        except (TypeError, ValueError) as error:  # UnicodeEncodeError is a ValueError
            _log.error("Failed to encode key %s: %s", key, error)
            continue
        if cache_key is not None:
            if len(_ENCODED_ATTRIBUTES) >= _MAX_ENCODED_ATTRIBUTES:
                _ENCODED_ATTRIBUTES.clear()
            _ENCODED_ATTRIBUTES[cache_key] = encoded
        parts.append(encoded)
    return b"".join(parts)


# Resource, InstrumentationScope
_RESOURCE_ATTRIBUTES, _SCOPE_NAME, _SCOPE_VERSION, _SCOPE_ATTRIBUTES = (
    _tag(1, 2),
    _tag(1, 2),
    _tag(2, 2),
    _tag(3, 2),
)


_ENCODED: dict[int, tuple[object, bytes]] = {}
"""Encoded resources and scopes by identity: a process exports the same few on every flush, and they are
immutable (the object is kept with its bytes, so its id cannot be reused while cached)."""
_MAX_ENCODED = 64


def _resource(resource: Resource) -> bytes:
    cached = _ENCODED.get(id(resource))
    if cached is not None and cached[0] is resource:
        return cached[1]
    return _remember(resource, _attributes(_RESOURCE_ATTRIBUTES, resource.attributes))


def _scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    cached = _ENCODED.get(id(scope))
    if cached is not None and cached[0] is scope:
        return cached[1]
    return _remember(
        scope,
        _str(_SCOPE_NAME, scope.name)
        + _str(_SCOPE_VERSION, scope.version)
        + _attributes(_SCOPE_ATTRIBUTES, scope.attributes),
    )


def _remember(owner: object, encoded: bytes) -> bytes:
    if len(_ENCODED) >= _MAX_ENCODED:
        _ENCODED.clear()
    _ENCODED[id(owner)] = (owner, encoded)
    return encoded


# ResourceSpans / ResourceMetrics and ScopeSpans / ScopeMetrics share their layout: 1 = resource or scope,
# 2 = repeated scopes or items, 3 = schema_url.
_FIRST, _ITEMS, _SCHEMA_URL = _tag(1, 2), _tag(2, 2), _tag(3, 2)


class _Grouped:
    """Encoded items grouped by resource, then by scope, in first-seen order (as the official encoder)."""

    def __init__(self) -> None:
        self.resources: list[tuple[Resource, dict[InstrumentationScope | None, list[bytes]]]] = []

    def scopes(self, resource: Resource) -> dict[InstrumentationScope | None, list[bytes]]:
        for known, scopes in self.resources:
            if known is resource:
                return scopes
        for known, scopes in self.resources:
            if known == resource:
                return scopes
        scopes = {}
        self.resources.append((resource, scopes))
        return scopes

    def encode(self) -> bytes:
        """The request body: field 1 (`resource_spans` / `resource_metrics`) once per resource."""
        body = []
        for resource, scopes in self.resources:
            scope_parts = [
                _len(
                    _ITEMS,
                    _len(_FIRST, _scope(scope))
                    + b"".join(_len(_ITEMS, item) for item in items)
                    + _str(_SCHEMA_URL, scope.schema_url if scope else None),
                )
                for scope, items in scopes.items()
            ]
            encoded = _len(_FIRST, _resource(resource)) + b"".join(scope_parts)
            body.append(_len(_FIRST, encoded + _str(_SCHEMA_URL, resource.schema_url)))
        return b"".join(body)


# Span
_TRACE_ID, _SPAN_ID, _TRACE_STATE, _PARENT_SPAN_ID, _NAME, _KIND = (
    _tag(1, 2),
    _tag(2, 2),
    _tag(3, 2),
    _tag(4, 2),
    _tag(5, 2),
    _tag(6, 0),
)
_START, _END, _SPAN_ATTRIBUTES, _SPAN_DROPPED_ATTRIBUTES = _tag(7, 1), _tag(8, 1), _tag(9, 2), _tag(10, 0)
_EVENTS, _DROPPED_EVENTS, _LINKS, _DROPPED_LINKS = _tag(11, 2), _tag(12, 0), _tag(13, 2), _tag(14, 0)
_STATUS, _SPAN_FLAGS = _tag(15, 2), _tag(16, 5)
# Span.Event, Span.Link, Status
_EVENT_TIME, _EVENT_NAME, _EVENT_ATTRIBUTES, _EVENT_DROPPED = _tag(1, 1), _tag(2, 2), _tag(3, 2), _tag(4, 0)
_LINK_ATTRIBUTES, _LINK_DROPPED, _LINK_FLAGS = _tag(4, 2), _tag(5, 0), _tag(6, 5)
_STATUS_MESSAGE, _STATUS_CODE = _tag(2, 2), _tag(3, 0)


def encode_spans(spans: Iterable[ReadableSpan]) -> bytes:
    """The serialised `ExportTraceServiceRequest` of `spans`."""
    grouped = _Grouped()
    for span in spans:
        scopes = grouped.scopes(span.resource)
        scopes.setdefault(span.instrumentation_scope or None, []).append(_span(span))
    return grouped.encode()


def _span_flags(parent: SpanContext | None) -> bytes:
    return _FIXED32(_HAS_IS_REMOTE | _IS_REMOTE if parent and parent.is_remote else _HAS_IS_REMOTE)


def _span(span: ReadableSpan) -> bytes:
    context = span.get_span_context()
    assert context is not None  # every SDK span has one
    parent = span.parent
    trace_state = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
    status = span.status
    parts = [
        _TRACE_ID,
        b"\x10",
        context.trace_id.to_bytes(16, "big"),
        _SPAN_ID,
        b"\x08",
        context.span_id.to_bytes(8, "big"),
        _str(_TRACE_STATE, trace_state),
        _len(_PARENT_SPAN_ID, parent.span_id.to_bytes(8, "big")) if parent else b"",
        _str(_NAME, span.name),
        _KIND,
        _SMALL[span.kind.value + 1],  # the protobuf enum counts SPAN_KIND_UNSPECIFIED as 0
        _fixed64(_START, span.start_time),
        _fixed64(_END, span.end_time),
        _attributes(_SPAN_ATTRIBUTES, span.attributes),
        _uint(_SPAN_DROPPED_ATTRIBUTES, span.dropped_attributes),
    ]
    for event in span.events:
        encoded = (
            _fixed64(_EVENT_TIME, event.timestamp)
            + _str(_EVENT_NAME, event.name)
            + _attributes(_EVENT_ATTRIBUTES, event.attributes)
            + _uint(_EVENT_DROPPED, event.dropped_attributes)
        )
        parts.append(_len(_EVENTS, encoded))
    parts.append(_uint(_DROPPED_EVENTS, span.dropped_events))
    for link in span.links:
        encoded = (
            _len(_TRACE_ID, link.context.trace_id.to_bytes(16, "big"))
            + _len(_SPAN_ID, link.context.span_id.to_bytes(8, "big"))
            + _attributes(_LINK_ATTRIBUTES, link.attributes)
            + _uint(_LINK_DROPPED, link.dropped_attributes)
            + _LINK_FLAGS
            + _span_flags(link.context)
        )
        parts.append(_len(_LINKS, encoded))
    parts.append(_uint(_DROPPED_LINKS, span.dropped_links))
    if status is not None:
        encoded = _str(_STATUS_MESSAGE, status.description) + _uint(_STATUS_CODE, status.status_code.value)
        parts.append(_len(_STATUS, encoded))
    parts.append(_SPAN_FLAGS)
    parts.append(_span_flags(parent))
    return b"".join(parts)


# Metric and its data
_METRIC_NAME, _METRIC_DESCRIPTION, _METRIC_UNIT = _tag(1, 2), _tag(2, 2), _tag(3, 2)
_GAUGE, _SUM, _HISTOGRAM, _EXPONENTIAL_HISTOGRAM = _tag(5, 2), _tag(7, 2), _tag(9, 2), _tag(10, 2)
_DATA_POINTS, _TEMPORALITY, _MONOTONIC = _tag(1, 2), _tag(2, 0), _tag(3, 0)
# NumberDataPoint
_NUMBER_START, _NUMBER_TIME, _NUMBER_DOUBLE = _tag(2, 1), _tag(3, 1), _tag(4, 1)
_NUMBER_EXEMPLARS, _NUMBER_INT, _NUMBER_ATTRIBUTES = _tag(5, 2), _tag(6, 1), _tag(7, 2)
# HistogramDataPoint
_HIST_START, _HIST_TIME, _HIST_COUNT, _HIST_SUM = _tag(2, 1), _tag(3, 1), _tag(4, 1), _tag(5, 1)
_HIST_BUCKETS, _HIST_BOUNDS, _HIST_EXEMPLARS = _tag(6, 2), _tag(7, 2), _tag(8, 2)
_HIST_ATTRIBUTES, _HIST_MIN, _HIST_MAX = _tag(9, 2), _tag(11, 1), _tag(12, 1)
# ExponentialHistogramDataPoint and its Buckets
_EXP_ATTRIBUTES, _EXP_START, _EXP_TIME, _EXP_COUNT, _EXP_SUM = (
    _tag(1, 2),
    _tag(2, 1),
    _tag(3, 1),
    _tag(4, 1),
    _tag(5, 1),
)
_EXP_SCALE, _EXP_ZERO_COUNT, _EXP_POSITIVE, _EXP_NEGATIVE, _EXP_FLAGS = (
    _tag(6, 0),
    _tag(7, 1),
    _tag(8, 2),
    _tag(9, 2),
    _tag(10, 0),
)
_EXP_EXEMPLARS, _EXP_MIN, _EXP_MAX = _tag(11, 2), _tag(12, 1), _tag(13, 1)
_BUCKETS_OFFSET, _BUCKETS_COUNTS = _tag(1, 0), _tag(2, 2)
# Exemplar
_EXEMPLAR_TIME, _EXEMPLAR_DOUBLE, _EXEMPLAR_SPAN_ID = _tag(2, 1), _tag(3, 1), _tag(4, 2)
_EXEMPLAR_TRACE_ID, _EXEMPLAR_INT, _EXEMPLAR_ATTRIBUTES = _tag(5, 2), _tag(6, 1), _tag(7, 2)


def encode_metrics(data: MetricsData) -> bytes:
    """The serialised `ExportMetricsServiceRequest` of `data`."""
    grouped = _Grouped()
    for resource_metrics in data.resource_metrics:
        scopes = grouped.scopes(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            items = scopes.setdefault(scope_metrics.scope, [])
            items.extend(_metric(metric) for metric in scope_metrics.metrics)
    return grouped.encode()


def _metric(metric: Metric) -> bytes:
    head = (
        _str(_METRIC_NAME, metric.name)
        + _str(_METRIC_DESCRIPTION, metric.description)
        + _str(_METRIC_UNIT, metric.unit)
    )
    data = metric.data
    if isinstance(data, Gauge):
        points = [_number_point(point, with_start=False) for point in data.data_points]
        return head + (_len(_GAUGE, _repeated(_DATA_POINTS, points)) if points else b"")
    if isinstance(data, Histogram):
        points = [_histogram_point(point) for point in data.data_points]
        body = _repeated(_DATA_POINTS, points) + _uint(_TEMPORALITY, data.aggregation_temporality.value)
        return head + (_len(_HISTOGRAM, body) if points else b"")
    if isinstance(data, Sum):
        points = [_number_point(point, with_start=True) for point in data.data_points]
        body = (
            _repeated(_DATA_POINTS, points)
            + _uint(_TEMPORALITY, data.aggregation_temporality.value)
            + (_MONOTONIC + b"\x01" if data.is_monotonic else b"")
        )
        return head + (_len(_SUM, body) if points else b"")
    if isinstance(data, ExponentialHistogram):
        points = [_exponential_point(point) for point in data.data_points]
        body = _repeated(_DATA_POINTS, points) + _uint(_TEMPORALITY, data.aggregation_temporality.value)
        return head + (_len(_EXPONENTIAL_HISTOGRAM, body) if points else b"")
    _log.warning("unsupported data type %s", type(data).__name__)
    return head


def _repeated(tag: bytes, items: Iterable[bytes]) -> bytes:
    return b"".join(_len(tag, item) for item in items)


def _number_point(point: Any, *, with_start: bool) -> bytes:
    """`NumberDataPoint`; its `as_double` / `as_int` oneof is always written, zero included."""
    value = point.value
    is_int = isinstance(value, int)
    return (
        (_fixed64(_NUMBER_START, point.start_time_unix_nano) if with_start else b"")
        + _fixed64(_NUMBER_TIME, point.time_unix_nano)
        + (b"" if is_int else _NUMBER_DOUBLE + _DOUBLE(value))
        + _repeated(_NUMBER_EXEMPLARS, map(_exemplar, point.exemplars))
        + (_NUMBER_INT + _SFIXED64(value) if is_int else b"")
        + _attributes(_NUMBER_ATTRIBUTES, point.attributes)
    )


def _optional_double(tag: bytes, value: float | None) -> bytes:
    return b"" if value is None else tag + _DOUBLE(value)


def _histogram_point(point: Any) -> bytes:
    counts = point.bucket_counts
    bounds = point.explicit_bounds
    return (
        _fixed64(_HIST_START, point.start_time_unix_nano)
        + _fixed64(_HIST_TIME, point.time_unix_nano)
        + _fixed64(_HIST_COUNT, point.count)
        + _optional_double(_HIST_SUM, point.sum)
        + (_len(_HIST_BUCKETS, Struct(f"<{len(counts)}Q").pack(*counts)) if counts else b"")
        + (_len(_HIST_BOUNDS, Struct(f"<{len(bounds)}d").pack(*bounds)) if bounds else b"")
        + _repeated(_HIST_EXEMPLARS, map(_exemplar, point.exemplars))
        + _attributes(_HIST_ATTRIBUTES, point.attributes)
        + _optional_double(_HIST_MIN, point.min)
        + _optional_double(_HIST_MAX, point.max)
    )


def _zigzag32(value: int) -> bytes:
    return _varint(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def _buckets(tag: bytes, buckets: Any) -> bytes:
    """`ExponentialHistogramDataPoint.Buckets`, written only when it has counts (as the official encoder)."""
    counts = buckets.bucket_counts
    if not counts:
        return b""
    offset = _BUCKETS_OFFSET + _zigzag32(buckets.offset) if buckets.offset else b""
    return _len(tag, offset + _len(_BUCKETS_COUNTS, b"".join(_varint(count) for count in counts)))


def _exponential_point(point: Any) -> bytes:
    return (
        _attributes(_EXP_ATTRIBUTES, point.attributes)
        + _fixed64(_EXP_START, point.start_time_unix_nano)
        + _fixed64(_EXP_TIME, point.time_unix_nano)
        + _fixed64(_EXP_COUNT, point.count)
        + _optional_double(_EXP_SUM, point.sum)
        + (_EXP_SCALE + _zigzag32(point.scale) if point.scale else b"")
        + _fixed64(_EXP_ZERO_COUNT, point.zero_count)
        + _buckets(_EXP_POSITIVE, point.positive)
        + _buckets(_EXP_NEGATIVE, point.negative)
        + _uint(_EXP_FLAGS, point.flags)
        + _repeated(_EXP_EXEMPLARS, map(_exemplar, point.exemplars))
        + _optional_double(_EXP_MIN, point.min)
        + _optional_double(_EXP_MAX, point.max)
    )


def _exemplar(exemplar: Any) -> bytes:
    value = exemplar.value
    if isinstance(value, float):
        as_double, as_int = _EXEMPLAR_DOUBLE + _DOUBLE(value), b""
    elif isinstance(value, int):
        as_double, as_int = b"", _EXEMPLAR_INT + _SFIXED64(value)
    else:
        raise ValueError("Exemplar value must be an int or float")
    ids = b""
    if exemplar.span_id is not None and exemplar.trace_id is not None:
        ids = _len(_EXEMPLAR_SPAN_ID, exemplar.span_id.to_bytes(8, "big")) + _len(
            _EXEMPLAR_TRACE_ID, exemplar.trace_id.to_bytes(16, "big")
        )
    return (
        _fixed64(_EXEMPLAR_TIME, exemplar.time_unix_nano)
        + as_double
        + ids
        + as_int
        + _attributes(_EXEMPLAR_ATTRIBUTES, exemplar.filtered_attributes)
    )
