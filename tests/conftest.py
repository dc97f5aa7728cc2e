"""Shared fixtures: telemetry kept in memory for the duration of one test.

`tenant_telemetry` keeps one active telemetry (providers, processors, readers) that the handler decorator,
job traces and consumer spans use; `in_memory_telemetry()` swaps in an in-memory one and restores the
previous one afterwards, so no test touches the process-wide OpenTelemetry globals.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tenant_telemetry.testing import InMemoryTelemetry, in_memory_telemetry

# Hypothesis's per-example deadline is a timing assertion: on shared, loaded machines it fails tests
# whose results are right. Examples still have to finish; only their speed is not judged.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


@pytest.fixture
def memory_telemetry() -> Iterator[InMemoryTelemetry]:
    with in_memory_telemetry() as memory:
        yield memory


@pytest.fixture
def spans(memory_telemetry: InMemoryTelemetry) -> InMemorySpanExporter:
    """Finished spans of this test only."""
    return memory_telemetry.span_exporter


@pytest.fixture
def metric_reader(memory_telemetry: InMemoryTelemetry) -> InMemoryMetricReader:
    """Metric points of this test only (delta temporality)."""
    return memory_telemetry.metric_reader
