"""An export's records pass through unchanged, counted, with one span per group of records."""

from __future__ import annotations

from tenant_pipeline.export.record_groups import RecordGroups, group_span_name
from tenant_telemetry import get_tracer
from tenant_telemetry.testing import in_memory_telemetry


def test_records_pass_through_in_groups_of_spans_under_the_current_span() -> None:
    records = [{"id": f"c-{n}"} for n in range(25)]
    with in_memory_telemetry() as memory:
        with get_tracer().start_as_current_span("data.export.contacts") as parent:
            groups = RecordGroups(records, table="tenant-data", group_records=10)
            passed = list(groups)
        spans = [span for span in memory.spans() if span.name == group_span_name("tenant-data")]

    assert passed == records and groups.count == 25
    assert [dict(span.attributes or {})["db.response.returned_rows"] for span in spans] == [10, 10, 5]
    assert [dict(span.attributes or {})["export.first_record"] for span in spans] == [0, 10, 20]
    assert all(
        span.parent is not None and span.parent.span_id == parent.get_span_context().span_id for span in spans
    )
    attributes = dict(spans[0].attributes or {})
    assert (attributes["db.system.name"], attributes["db.operation.name"]) == ("aws.dynamodb", "Query")
    assert attributes["db.collection.name"] == "tenant-data"


def test_no_records_no_span() -> None:
    with in_memory_telemetry() as memory:
        groups = RecordGroups([], table="tenant-data")
        assert list(groups) == []

    assert memory.names() == [] and groups.count == 0
