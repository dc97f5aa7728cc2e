"""The whole import on moto: object put -> notification -> validator -> batches -> loader -> table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest

from tenant_pipeline.imports.keys import batches_prefix
from tenant_pipeline.store.jobs import Job, JobStatus
from tenant_pipeline.topology import Resource, Tunable
from tenant_telemetry.propagation import inject_object_metadata
from tenant_telemetry.testing import InMemoryTelemetry

from .conftest import Stack, attributes, point_values
from .pipeline import Pipeline, contact_row, contacts_csv, notification_of, reset_handlers

KEY = "tenants/acme/imports/contacts/contacts.csv"


@pytest.fixture
def pipeline(
    stack: Stack, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    monkeypatch.setenv(Tunable.BATCH_ROWS.value, "50")
    reset_handlers()
    pipeline = Pipeline(stack)
    pipeline.tenants.create("acme", "us-east-1")
    yield pipeline
    reset_handlers()


def assert_accounted(pipeline: Pipeline, job: Job, rows_in_file: int) -> None:
    """Every row of the file is stored or reported, and the table holds exactly the stored ones."""
    assert job.total_rows == rows_in_file
    assert job.stored + (job.invalid or 0) == rows_in_file
    assert pipeline.data.count_entity(job.tenant_id, job.entity_type or "") == job.stored


def test_a_file_with_some_invalid_rows_is_loaded_partially_in_one_trace(
    pipeline: Pipeline, telemetry: InMemoryTelemetry
) -> None:
    # Given a 120-row file with 3 invalid rows, in batches of 50
    rows = [contact_row(n, valid=n not in (5, 60, 119)) for n in range(120)]
    pipeline.put(KEY, contacts_csv(rows))
    # When the pipeline runs
    pipeline.run()
    # Then the job is PARTIAL with exact counts, and the invalid rows are in the report
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.PARTIAL
    assert (job.total_rows, job.stored, job.invalid, job.batches_total, job.batches_done) == (
        120,
        117,
        3,
        3,
        3,
    )
    assert job.finished_at is not None and job.error is None
    assert_accounted(pipeline, job, 120)
    lines = pipeline.report_lines(job)
    assert lines[0] == ["line", "field", "value", "reason"]
    assert sorted(int(line[0]) for line in lines[1:]) == [7, 62, 121]  # header is line 1
    assert {line[1] for line in lines[1:]} == {"email"}
    stored = {r["id"]: r for r in pipeline.data.query_entity("acme", "contacts")}
    assert stored["c-1"]["email"] == "user1@example.com" and stored["c-1"]["age"] == 21
    assert "c-5" not in stored
    # And the validator, every batch and the root share the job's trace
    spans = telemetry.spans()
    root = telemetry.span("data.import")
    validate = telemetry.span("data.import.validate")
    batches = [span for span in spans if span.name == "data.import.batch"]
    assert f"{root.context.trace_id:032x}" == job.trace_id
    assert len(batches) == 3
    for span in [validate, *batches]:
        assert span.context.trace_id == root.context.trace_id
        assert span.parent is not None and span.parent.span_id == root.context.span_id
    assert sorted(attributes(span)["import.batch_number"] for span in batches) == [1, 2, 3]
    assert sorted(attributes(span)["import.batch_size"] for span in batches) == [17, 50, 50]
    assert attributes(validate)["import.row_count"] == 120
    assert attributes(validate)["import.validation_errors"] == 3
    # and the validate span's children: the rows pass (with its reading, parsing and checking times),
    # the error report, the fan-out
    children = {
        span.name: span for span in spans if span.parent and span.parent.span_id == validate.context.span_id
    }
    assert set(children) == {"data.import.validate.rows", "data.import.report", "data.import.fanout"}
    rows_pass = attributes(children["data.import.validate.rows"])
    assert rows_pass["import.row_count"] == 120
    assert rows_pass["import.parse_seconds"] > 0 and rows_pass["import.check_seconds"] > 0
    assert attributes(root)["import.status"] == "PARTIAL"
    assert attributes(root)["tenant.id"] == "acme"
    assert attributes(root)["import.records_per_second"] > 0


def test_a_clean_file_succeeds_and_its_metrics_are_counted_per_batch(
    pipeline: Pipeline, telemetry: InMemoryTelemetry
) -> None:
    pipeline.put(KEY, contacts_csv(contact_row(n) for n in range(75)))
    pipeline.run()
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.SUCCEEDED
    assert_accounted(pipeline, job, 75)
    assert pipeline.report_lines(job) == [["line", "field", "value", "reason"]]
    metrics = telemetry.metrics()
    processed = point_values(metrics["data.import.records_processed"])
    assert sum(value for _, value in processed) == 75
    assert {point["import.status"] for point, _ in processed} == {"success"}
    duration: Any = metrics["data.import.duration"].data.data_points[0]
    assert duration.count == 1


def test_the_job_continues_the_uploaders_trace(pipeline: Pipeline, telemetry: InMemoryTelemetry) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    pipeline.put(KEY, contacts_csv(contact_row(n) for n in range(3)), metadata={"traceparent": traceparent})
    pipeline.run()
    job = pipeline.only_job("acme")
    assert job.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    root = telemetry.span("data.import")
    assert root.parent is not None and root.parent.span_id == 0x00F067AA0BA902B7
    assert inject_object_metadata is not None  # the uploader side of the same propagation


def test_a_duplicate_notification_makes_no_second_job_and_no_second_load(pipeline: Pipeline) -> None:
    pipeline.put(KEY, contacts_csv(contact_row(n) for n in range(60)))
    pipeline.run()
    first = pipeline.only_job("acme")
    # When S3 delivers the same notification again
    pipeline.stack.clients.sqs.send_message(
        QueueUrl=pipeline.stack.url(Resource.INGEST_QUEUE), MessageBody=notification_of(pipeline, KEY)
    )
    pipeline.validate_uploads()
    # Then no batch is sent and the job is unchanged
    assert pipeline.queue_depth(Resource.BATCHES_QUEUE) == 0
    assert pipeline.only_job("acme") == first
    assert_accounted(pipeline, first, 60)


def test_a_reupload_of_identical_bytes_is_a_new_job_in_a_versioned_bucket(pipeline: Pipeline) -> None:
    # Given the ingest bucket versioned, as the stack declares it
    pipeline.stack.clients.s3.put_bucket_versioning(
        Bucket=pipeline.stack.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    body = contacts_csv(contact_row(n) for n in range(5))
    pipeline.put(KEY, body)
    pipeline.run()
    # When the user uploads the very same bytes again, and S3 repeats that notification
    pipeline.put(KEY, body)
    pipeline.redeliver(KEY)
    pipeline.run()
    # Then the re-upload is a job of its own, and the duplicate notification made no third one
    jobs = pipeline.jobs.list_for_tenant("acme")
    assert len(jobs) == 2
    assert {pipeline.jobs.get(job.job_id).status for job in jobs} == {JobStatus.SUCCEEDED}


def test_large_batches_travel_behind_a_claim_check(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(Tunable.BATCH_ROWS.value, "600")
    reset_handlers()
    rows = [contact_row(n, notes="n" * 900) for n in range(700)]  # ~570 KB in the first batch
    pipeline.put(KEY, contacts_csv(rows))
    pipeline.run()
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.SUCCEEDED
    assert_accounted(pipeline, job, 700)
    listed = pipeline.stack.clients.s3.list_objects_v2(
        Bucket=pipeline.stack.bucket, Prefix=batches_prefix("acme", job.job_id)
    )
    assert [obj["Key"].rsplit("/", 1)[-1] for obj in listed.get("Contents", [])] == ["000001.json"]
    assert len(pipeline.jobs.list_for_tenant("acme")) == 1  # the claim check and report started nothing


def test_a_file_over_the_invalid_threshold_loads_nothing(
    pipeline: Pipeline, telemetry: InMemoryTelemetry
) -> None:
    rows = [contact_row(n, valid=n % 5 == 0) for n in range(20)]  # 16 of 20 invalid
    pipeline.put(KEY, contacts_csv(rows))
    pipeline.run()
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED_VALIDATION
    assert job.error is not None and "16 of 20 rows are invalid" in job.error and "50.0%" in job.error
    assert (job.total_rows, job.invalid, job.stored) == (20, 16, 0)
    assert pipeline.data.count_entity("acme", "contacts") == 0
    assert len(pipeline.report_lines(job)) == 17
    assert pipeline.queue_depth(Resource.BATCHES_QUEUE) == 0
    validate = telemetry.span("data.import.validate")
    assert validate.status.status_code.name == "ERROR"
    assert telemetry.span("data.import").status.status_code.name == "ERROR"


def test_a_stricter_tenant_threshold_applies(pipeline: Pipeline) -> None:
    pipeline.tenants.create("strict", "us-east-1", max_invalid_ratio=0.05)
    rows = [contact_row(n, valid=n % 10 != 0) for n in range(20)]  # 10% invalid
    pipeline.put("tenants/strict/imports/contacts/c.csv", contacts_csv(rows))
    pipeline.run()
    job = pipeline.only_job("strict")
    assert job.status is JobStatus.FAILED_VALIDATION
    assert "limit of 5.0%" in (job.error or "")


def _received_groups(pipeline: Pipeline, queue: Resource) -> list[tuple[str, str | None]]:
    """`(body, MessageGroupId)` of every message waiting in `queue`, as SQS delivers them."""
    sqs, url, received = pipeline.stack.clients.sqs, pipeline.stack.url(queue), []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    ).get("Messages", []):
        received += [(m["Body"], m.get("Attributes", {}).get("MessageGroupId")) for m in messages]
    return received


def test_uploads_and_batches_travel_in_their_tenants_message_groups(pipeline: Pipeline) -> None:
    # Given two tenants' uploads, one of them under a key that names no valid tenant
    pipeline.tenants.create("globex", "us-east-1")
    pipeline.put(KEY, contacts_csv(contact_row(n) for n in range(120)))
    pipeline.put("tenants/globex/imports/contacts/c.csv", contacts_csv(contact_row(n) for n in range(60)))
    pipeline.put("tenants/Not_A_Tenant/imports/contacts/c.csv", contacts_csv([contact_row(1)]))
    # When the router runs, each upload waits for validation in its tenant's group
    pipeline.route.drain()
    requests = _received_groups(pipeline, Resource.VALIDATION_QUEUE)
    keys = {unquote_plus(json.loads(body)["Records"][0]["s3"]["object"]["key"]): g for body, g in requests}
    assert keys == {
        KEY: "acme",
        "tenants/globex/imports/contacts/c.csv": "globex",
        "tenants/Not_A_Tenant/imports/contacts/c.csv": None,
    }
    # And once validated (the requests received above are held: S3 notifies again), every batch message
    # is in its tenant's group: 3 of acme's, 2 of globex's, in batches of 50
    pipeline.stack.clients.sqs.purge_queue(QueueUrl=pipeline.stack.url(Resource.VALIDATION_QUEUE))
    for key in (KEY, "tenants/globex/imports/contacts/c.csv"):
        pipeline.redeliver(key)
    pipeline.validate_uploads()
    batches = _received_groups(pipeline, Resource.BATCHES_QUEUE)
    assert sorted((json.loads(body)["tenant_id"], group) for body, group in batches) == [
        ("acme", "acme"),
        ("acme", "acme"),
        ("acme", "acme"),
        ("globex", "globex"),
        ("globex", "globex"),
    ]
