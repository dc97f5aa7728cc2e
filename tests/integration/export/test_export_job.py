from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tenant_pipeline.entities import UnknownEntityError
from tenant_pipeline.errors import InvalidTenantIdError, UnknownJobError, UnknownTenantError
from tenant_pipeline.export import (
    CONTINUE_FIELD,
    ExportManifest,
    ExportRequest,
    InvalidExportRequestError,
    manifest_key,
    unescape_formula,
)
from tenant_pipeline.export.upload import MIN_PART_BYTES
from tenant_pipeline.store.jobs import JobKind, JobStatus
from tenant_pipeline.store.keys import shard_of
from tenant_pipeline.topology import Resource
from tests.integration.export.conftest import REGION, ExportWorld, contact, order, plenty_of_time
from tests.legacy_tenants import put_legacy_tenant


def export(world: ExportWorld, **request: Any) -> dict[str, Any]:
    payload = {"tenant_id": "acme", "entities": ["contacts", "orders"], "format": "csv", **request}
    return world.runner().handle(payload, plenty_of_time).to_dict()


def manifest_of(world: ExportWorld, outcome: dict[str, Any]) -> ExportManifest:
    return ExportManifest.from_json(world.read(outcome["manifest_key"]))


@pytest.mark.parametrize(("tenant_id", "shards"), [("acme", 32), ("oldco", 8)])
def test_an_export_reads_every_shard_of_its_tenants_count(
    world: ExportWorld, tenant_id: str, shards: int
) -> None:
    # Given a new tenant (32 shards) or one created before counts were recorded (8), with 300 contacts
    put_legacy_tenant(world.dynamodb, world.names[Resource.TENANTS_TABLE], "oldco", REGION)
    contacts = [contact(i) for i in range(300)]
    world.store_records(tenant_id, "contacts", contacts)
    assert {shard_of(item["id"], shards) for item in contacts} == set(range(shards))
    # When it exports, then the file holds every record once
    outcome = export(world, tenant_id=tenant_id, entities=["contacts"])
    assert outcome["status"] == "SUCCEEDED"
    rows = csv_rows(world.read(manifest_of(world, outcome).file("contacts").key))
    assert sorted(row["id"] for row in rows) == sorted(item["id"] for item in contacts)


def csv_rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


@pytest.mark.slow
def test_thousands_of_records_across_every_shard_with_checksums_that_match(world: ExportWorld) -> None:
    # Given 3,000 contacts with long notes (the CSV passes 5 MiB: a multipart upload) and 1,500 orders
    contacts = [contact(i, notes="n" * 1900) for i in range(3_000)]
    orders = [order(i) for i in range(1_500)]
    world.store_records("acme", "contacts", contacts)
    world.store_records("acme", "orders", orders)
    shards = world.tenants.get("acme").shard_count
    assert {shard_of(item["id"], shards) for item in contacts} == set(range(shards))

    # When the tenant exports both entity types
    outcome = export(world)

    # Then each file holds every record once, and matches the manifest's size and SHA-256
    assert outcome["status"] == "SUCCEEDED"
    manifest = manifest_of(world, outcome)
    assert manifest.entities == ["contacts", "orders"]
    assert manifest.total_records == outcome["total_records"] == 4_500
    for entry, expected in ((manifest.file("contacts"), contacts), (manifest.file("orders"), orders)):
        body = world.read(entry.key)
        assert entry.bytes == len(body)
        assert entry.sha256 == hashlib.sha256(body).hexdigest()
        rows = csv_rows(body)
        assert entry.record_count == len(rows) == len(expected)
        assert sorted(row["id"] for row in rows) == sorted(item["id"] for item in expected)
        assert entry.schema_version == "1"
        assert entry.format == "csv"
        assert entry.file_name == f"{entry.entity}.csv"
    assert manifest.file("contacts").bytes > MIN_PART_BYTES


def test_manifest_json_has_the_fields_a_tenant_checks(world: ExportWorld) -> None:
    world.store_records("acme", "orders", [order(i) for i in range(10)])
    outcome = export(world, entities=["orders"], format="jsonl", gzip=True)
    document = json.loads(world.read(outcome["manifest_key"]))
    assert document["tenant_id"] == "acme"
    assert document["job_id"] == outcome["job_id"]
    assert document["total_records"] == 10
    (entry,) = document["files"]
    assert set(entry) >= {
        "entity",
        "format",
        "record_count",
        "bytes",
        "sha256",
        "exported_at",
        "schema_version",
    }
    assert entry["file_name"] == "orders.jsonl.gz"
    assert entry["compression"] == "gzip"
    assert entry["exported_at"].endswith("Z")
    assert outcome["manifest_key"] == manifest_key("acme", outcome["job_id"])


def test_csv_columns_follow_the_schema_and_formula_cells_are_escaped(world: ExportWorld) -> None:
    hostile = {
        1: '=HYPERLINK("http://evil.example","click")',
        2: "+1 555 0100",
        3: "-2+3+cmd|' /C calc'!A0",
        4: "@SUM(A1:A9)",
        5: "\tindented",
        6: "\r=carriage",
    }
    world.store_records("acme", "contacts", [contact(i, name=name) for i, name in hostile.items()])
    outcome = export(world, entities=["contacts"])
    body = world.read(manifest_of(world, outcome).file("contacts").key)
    header = body.split(b"\r\n", 1)[0].decode()
    assert header == "id,email,name,age,created_at,country,notes"
    rows = {row["id"]: row for row in csv_rows(body)}
    for i, name in hostile.items():
        cell = rows[f"c{i:06d}"]["name"]
        assert cell == "'" + name
        assert unescape_formula(cell) == name


def test_gzip_json_array_export(world: ExportWorld) -> None:
    world.store_records("acme", "orders", [order(i) for i in range(300)])
    outcome = export(world, entities=["orders"], format="json", gzip=True)
    entry = manifest_of(world, outcome).file("orders")
    raw = world.read(entry.key)
    assert hashlib.sha256(raw).hexdigest() == entry.sha256
    items = json.loads(gzip.decompress(raw), parse_float=Decimal)
    assert len(items) == 300
    assert {item["id"]: item["amount"] for item in items}["o000123"] == Decimal("123.23")
    assert list(items[0]) == ["id", "contact_id", "amount", "currency", "status", "placed_at"]


def test_an_export_reads_only_its_own_tenant(world: ExportWorld) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(20)])
    world.store_records("globex", "contacts", [contact(i, name="Globex secret") for i in range(1000, 1030)])
    outcome = export(world, entities=["contacts"], format="jsonl")
    body = world.read(manifest_of(world, outcome).file("contacts").key)
    lines = [json.loads(line) for line in body.splitlines()]
    assert len(lines) == 20
    assert all(item["name"] != "Globex secret" for item in lines)
    assert outcome["manifest_key"].startswith("tenants/acme/exports/")


def test_an_empty_entity_exports_an_empty_file(world: ExportWorld) -> None:
    outcome = export(world, entities=["orders"])
    entry = manifest_of(world, outcome).file("orders")
    assert entry.record_count == 0
    assert world.read(entry.key) == b"id,contact_id,amount,currency,status,placed_at\r\n"


@pytest.mark.parametrize(
    ("payload", "error", "reason"),
    [
        ({"tenant_id": "nobody"}, UnknownTenantError, "unknown tenant 'nobody'"),
        ({"entities": ["contacts", "invoices"]}, UnknownEntityError, "unknown entity type 'invoices'"),
        ({"format": "xlsx"}, InvalidExportRequestError, "unsupported export format 'xlsx'"),
        ({"entities": []}, InvalidExportRequestError, "at least one entity"),
        ({"tenant_id": "../globex"}, InvalidTenantIdError, "does not match"),
        ({"gzip": "yes"}, InvalidExportRequestError, "gzip must be true or false"),
        (
            {"job_id": "imp-0123456789abcdef"},
            InvalidExportRequestError,
            "unknown field.s. in the export request: job_id",
        ),
        ({"request_id": "A/B"}, InvalidExportRequestError, "request id"),
    ],
)
def test_bad_requests_fail_clearly_before_any_job_exists(
    world: ExportWorld, payload: dict[str, Any], error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason.replace("(", r"\(")):
        export(world, **payload)
    assert world.jobs.ledger.list_for_tenant("acme") == []
    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket)


def test_the_job_is_in_the_ledger_as_an_export(world: ExportWorld) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(5)])
    outcome = export(world, entities=["contacts"], request_id="fixed-request-1")
    job = world.jobs.get(outcome["job_id"])
    assert job.job_id.startswith("export-")
    assert job.kind is JobKind.EXPORT
    assert job.status is JobStatus.SUCCEEDED
    assert job.total_rows == job.stored == 5
    assert job.format == "csv"
    assert job.entity_type == "contacts"
    assert job.trace_id == outcome["trace_id"]
    assert job.details["manifest_key"] == outcome["manifest_key"]
    assert [entry["record_count"] for entry in job.details["files"]] == [5]
    assert job.finished_at is not None
    assert [listed.job_id for listed in world.jobs.ledger.list_for_tenant("acme")] == [job.job_id]


def test_a_repeated_request_with_the_same_request_id_is_the_same_job(world: ExportWorld) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(5)])
    first = export(world, entities=["contacts"], request_id="export-repeat-01")
    world.store_records("acme", "contacts", [contact(i) for i in range(5, 9)])
    second = export(world, entities=["contacts"], request_id="export-repeat-01")
    assert second["job_id"] == first["job_id"]
    assert second["status"] == "SUCCEEDED"
    assert second["files"] == first["files"]  # the finished job is reported, not redone


def test_a_long_export_continues_in_a_new_invocation(world: ExportWorld, spans: InMemorySpanExporter) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(40)])
    world.store_records("acme", "orders", [order(i) for i in range(30)])
    runner = world.runner(reserve_ms=60_000)

    # Given an invocation with only 10 s left after its first entity
    first = runner.handle(
        {"tenant_id": "acme", "entities": ["contacts", "orders"], "format": "jsonl"}, lambda: 10_000
    )

    # Then it stops after one entity, records it, and hands the job on
    assert first.status is JobStatus.RUNNING
    assert [entry.entity for entry in first.files] == ["contacts"]
    (payload,) = world.continuation.payloads
    assert payload["job_id"] == first.job_id
    assert payload[CONTINUE_FIELD] is True
    assert payload["trace"]["traceparent"].split("-")[1] == first.trace_id
    running = world.jobs.get(first.job_id)
    assert running.status is JobStatus.RUNNING
    assert running.stored == 40
    assert not [span for span in spans.get_finished_spans() if span.name == "data.export"]

    # When the next invocation runs the payload
    second = runner.handle(json.loads(json.dumps(payload)), plenty_of_time)

    # Then it exports only what is left and finishes the job, in the same trace
    assert second.status is JobStatus.SUCCEEDED
    assert [entry.entity for entry in second.files] == ["contacts", "orders"]
    assert second.total_records == 70
    assert second.files[0] == first.files[0]
    entity_spans = [span for span in spans.get_finished_spans() if span.name.startswith("data.export.")]
    assert [span.name for span in entity_spans] == ["data.export.contacts", "data.export.orders"]
    (root,) = [span for span in spans.get_finished_spans() if span.name == "data.export"]
    assert {span.context.trace_id for span in entity_spans} == {root.context.trace_id}
    assert root.attributes is not None and root.attributes["export.total_records"] == 70
    assert len(world.continuation.payloads) == 1


def test_a_continuation_for_another_tenant_is_refused(world: ExportWorld) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(3)])
    outcome = export(world, entities=["contacts"])
    with pytest.raises(UnknownJobError):
        world.runner().handle(
            {"tenant_id": "globex", "job_id": outcome["job_id"], CONTINUE_FIELD: True}, plenty_of_time
        )


def test_a_failed_upload_fails_the_job_with_its_reason(
    world: ExportWorld, spans: InMemorySpanExporter
) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(3)])
    runner = world.runner(bucket="no-such-export-bucket")
    outcome = runner.handle({"tenant_id": "acme", "entities": ["contacts"], "format": "csv"}, plenty_of_time)
    assert outcome.status is JobStatus.FAILED
    assert outcome.error is not None and "NoSuchBucket" in outcome.error
    job = world.jobs.get(outcome.job_id)
    assert job.status is JobStatus.FAILED
    assert job.error == outcome.error
    (root,) = [span for span in spans.get_finished_spans() if span.name == "data.export"]
    assert not root.status.is_ok


def export_duration_count(reader: InMemoryMetricReader) -> tuple[int, AggregationTemporality | None]:
    """Observations of `data.export.duration` in one collection, and the temporality they are in."""
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "data.export.duration":
                    histogram = metric.data
                    assert isinstance(histogram, Histogram)
                    return sum(
                        point.count for point in histogram.data_points
                    ), histogram.aggregation_temporality
    return 0, None


def test_spans_and_metric_names(
    world: ExportWorld, spans: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> None:
    world.store_records("acme", "contacts", [contact(i) for i in range(12)])
    world.store_records("acme", "orders", [order(i) for i in range(7)])
    before, _ = export_duration_count(metric_reader)
    outcome = export(world, format="jsonl")

    finished = spans.get_finished_spans()
    (root,) = [span for span in finished if span.name == "data.export"]
    assert root.parent is None
    assert f"{root.context.trace_id:032x}" == outcome["trace_id"]
    attributes = dict(root.attributes or {})
    assert attributes["tenant.id"] == "acme"
    assert attributes["export.format"] == "jsonl"
    assert tuple(attributes["export.entity_types"]) == ("contacts", "orders")  # type: ignore[arg-type]
    assert attributes["export.total_records"] == 19
    assert attributes["export.file_count"] == 2
    by_name: dict[str, ReadableSpan] = {span.name: span for span in finished}
    for entity, count in (("contacts", 12), ("orders", 7)):
        span = by_name[f"data.export.{entity}"]
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert span.context.trace_id == root.context.trace_id
        assert span.attributes is not None and span.attributes["export.record_count"] == count

    after, temporality = export_duration_count(metric_reader)
    assert after == (1 if temporality is AggregationTemporality.DELTA else before + 1)


def test_request_round_trips_through_its_payload() -> None:
    request = ExportRequest.from_payload(
        {"tenant_id": "acme", "entities": "contacts, orders,contacts", "format": "JSONL", "gzip": True}
    )
    assert request.entities == ("contacts", "orders")
    assert ExportRequest.from_payload(request.to_payload()) == request
