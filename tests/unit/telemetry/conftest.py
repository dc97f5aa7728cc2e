from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenant_telemetry.testing import InMemoryTelemetry, in_memory_telemetry


@pytest.fixture
def memory() -> Iterator[InMemoryTelemetry]:
    """Spans and metrics of this test only, kept in memory."""
    with in_memory_telemetry() as telemetry:
        yield telemetry
