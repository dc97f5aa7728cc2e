"""The seed instruments: exact names, units and attributes, exported with delta temporality."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, Sum

from tenant_telemetry import pipeline_metrics
from tenant_telemetry.metrics import ImportStatus
from tenant_telemetry.testing import InMemoryTelemetry


def point_attributes(metric: object) -> list[dict[str, object]]:
    return [dict(point.attributes or {}) for point in metric.data.data_points]  # type: ignore[attr-defined]


def test_every_seed_instrument_with_its_attributes(memory: InMemoryTelemetry) -> None:
    metrics = pipeline_metrics()
    metrics.record_import_records(500, tenant_id="acme", status=ImportStatus.SUCCESS)
    metrics.record_import_errors(2, tenant_id="acme", error_type="validation")
    metrics.record_import_duration(12.5, tenant_id="acme", entity_type="contacts")
    metrics.record_import_throughput(4_000.0, entity_type="contacts")
    metrics.record_export_duration(3.0)
    metrics.record_migration_duration(60.0, tenant_id="acme", status="completed")
    metrics.record_migration_bytes(1_048_576, tenant_id="acme")
    metrics.record_integrity_check(tenant_id="acme", result="passed")

    collected = memory.metrics()
    expected = {
        "data.import.records_processed": ("{record}", Sum, {"tenant.id": "acme", "import.status": "success"}),
        "data.import.errors": ("{error}", Sum, {"tenant.id": "acme", "import.error_type": "validation"}),
        "data.import.duration": ("s", Histogram, {"tenant.id": "acme", "import.entity_type": "contacts"}),
        "data.import.throughput": ("{record}/s", Histogram, {"import.entity_type": "contacts"}),
        "data.export.duration": ("s", Histogram, {}),
        "migration.duration": ("s", Histogram, {"tenant.id": "acme", "migration.status": "completed"}),
        "migration.bytes_transferred": ("By", Sum, {"tenant.id": "acme"}),
        "migration.integrity_check": ("{check}", Sum, {"tenant.id": "acme", "result": "passed"}),
    }
    assert set(collected) == set(expected)
    for name, (unit, kind, attributes) in expected.items():
        metric = collected[name]
        assert metric.unit == unit, name
        assert isinstance(metric.data, kind), name
        assert isinstance(metric.data, Sum | Histogram)
        assert metric.data.aggregation_temporality is AggregationTemporality.DELTA, name
        assert point_attributes(metric) == [attributes], name


def test_delta_temporality_reports_each_invocation_once(memory: InMemoryTelemetry) -> None:
    metrics = pipeline_metrics()
    metrics.record_import_records(500, tenant_id="acme", status=ImportStatus.SUCCESS)
    first = memory.metrics()["data.import.records_processed"]
    metrics.record_import_records(200, tenant_id="acme", status=ImportStatus.SUCCESS)
    second = memory.metrics()["data.import.records_processed"]
    assert [p.value for p in first.data.data_points] == [500]  # type: ignore[union-attr]
    assert [p.value for p in second.data.data_points] == [200]  # type: ignore[union-attr]
    assert memory.metrics() == {}


def test_duration_buckets_suit_seconds(memory: InMemoryTelemetry) -> None:
    pipeline_metrics().record_import_duration(42.0, tenant_id="acme", entity_type="orders")
    point = memory.metrics()["data.import.duration"].data.data_points[0]
    assert 30 in point.explicit_bounds and 3600 in point.explicit_bounds  # type: ignore[union-attr]
