"""A file validated over several invocations (legs) on moto: each leg reads one batch of records and
hands over to the next through the validation queue; the job ends as if one invocation had read it,
as Python's csv and json modules read the file."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.import_validate import handler as validate_handler
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.formats import ReadLimits
from tenant_pipeline.imports.validate import ImportValidator
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.jobs import JobStatus
from tenant_pipeline.topology import Resource, Tunable
from tenant_telemetry.testing import InMemoryTelemetry

from . import pump as pump_module
from .conftest import FakeLambdaContext, Stack
from .pipeline import Pipeline, reset_handlers
from .pump import lambda_sqs_record

ROWS = 2_100
READ_BATCH = ReadLimits().batch_rows
"""Records a leg reads when its time is up after every batch: the file takes three read legs."""
Records = list[tuple[int, dict[str, str]]]
"""(line where a record starts, the record) of a file, as an oracle reads it."""
NOTES = ("plain", "line one\r\nline two", 'says "hi",\nthen\n\nmore')


@pytest.fixture
def pipeline(
    stack: Stack, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    monkeypatch.setenv(Tunable.BATCH_ROWS.value, "500")
    monkeypatch.setenv(Tunable.VALIDATION_LEG_SECONDS.value, "0")
    # The pump stops at a queue with nothing to deliver now: the next leg's request comes at once here.
    monkeypatch.setenv(Tunable.VALIDATION_HANDOVER_DELAY_S.value, "0")
    reset_handlers()
    pipeline = Pipeline(stack)
    pipeline.tenants.create("acme", "us-east-1")
    yield pipeline
    reset_handlers()


def _records() -> list[dict[str, str]]:
    """Contacts with invalid e-mails and ids repeated from a few rows and from a leg or more before."""
    records = []
    for n in range(ROWS):
        record_id = f"c-{n}"
        if n % 40 == 39:
            record_id = f"c-{n - 1_100 if n >= 1_100 and n % 200 == 199 else n - 20}"
        email = f"user{n}-at-example" if n % 40 == 11 else f"User.{n}@Example.com"
        record = {"id": record_id, "email": email, "name": f"Name {n}", "created_at": "2025-01-02T03:04:05Z"}
        records.append({**record, "notes": NOTES[n % len(NOTES)]})
    return records


def _csv_file(records: list[dict[str, str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def _csv_oracle(data: bytes) -> Records:
    """(line where the record starts, record) of every record, as the csv module reads them."""
    reader = csv.reader(io.StringIO(data.decode(), newline=""))
    header = next(reader)
    found, end = [], reader.line_num
    for cells in reader:
        found.append((end + 1, dict(zip(header, cells, strict=True))))
        end = reader.line_num
    return found


def _jsonl_file(records: list[dict[str, str]]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def _jsonl_oracle(data: bytes) -> Records:
    return [(n, json.loads(line)) for n, line in enumerate(data.decode().splitlines(), start=1)]


def _expected(records: Records) -> tuple[dict[str, dict[str, str]], set[tuple[int, str]]]:
    """The records to store by id (the first valid one of each id stands) and the (line, field) pairs
    to report: the invalid e-mails and every later repeat of an id."""
    stored: dict[str, dict[str, str]] = {}
    reported = set()
    for line, record in records:
        if "@" not in record["email"]:
            reported.add((line, "email"))
        elif record["id"] in stored:
            reported.add((line, "id"))
        else:
            stored[record["id"]] = record
    return stored, reported


def _assert_validated(pipeline: Pipeline, oracle: Records) -> None:
    """The job's counts and its report say what the oracle reads in the file."""
    _, reported = _expected(oracle)
    job = pipeline.only_job("acme")
    assert (job.total_rows, job.invalid, job.error) == (len(oracle), len(reported), None)
    lines = pipeline.report_lines(job)
    assert lines[0] == ["line", "field", "value", "reason"]
    assert sorted((int(line[0]), line[1]) for line in lines[1:]) == sorted(reported)


def _assert_exact(pipeline: Pipeline, oracle: Records) -> None:
    """Validated as the oracle says, and the table holds exactly the first valid record of each id."""
    _assert_validated(pipeline, oracle)
    stored, _ = _expected(oracle)
    job = pipeline.only_job("acme")
    assert (job.status, job.stored) == (JobStatus.PARTIAL, len(stored))
    items = {item["id"]: item for item in pipeline.data.query_entity("acme", "contacts")}
    assert items.keys() == stored.keys()
    for record_id, record in stored.items():
        item = items[record_id]
        assert (item["email"], item["name"], item["notes"]) == (
            record["email"].lower(),
            record["name"],
            record["notes"],
        )


@pytest.mark.parametrize(
    ("name", "encode", "oracle"),
    [
        ("contacts.csv", _csv_file, _csv_oracle),
        ("contacts.jsonl", _jsonl_file, _jsonl_oracle),
    ],
)
def test_a_file_read_in_legs_ends_as_its_records_say(
    pipeline: Pipeline, name: str, encode: Any, oracle: Any
) -> None:
    # Given a file of three read batches with multi-line values, invalid rows and repeated ids
    data = encode(_records())
    pipeline.put(f"tenants/acme/imports/contacts/{name}", data)
    # When it is validated one batch per invocation and loaded
    pipeline.run()
    # Then three legs read it and a fourth finished it, nothing went to a dead-letter queue
    assert pipeline.validation.invocations == -(-ROWS // READ_BATCH) + 1
    assert pipeline.queue_depth(Resource.VALIDATION_DLQ) == pipeline.queue_depth(Resource.BATCHES_DLQ) == 0
    # and the table and the report say what the csv (json) module reads in the file
    _assert_exact(pipeline, oracle(data))


def test_a_request_for_a_leg_already_run_does_nothing(pipeline: Pipeline) -> None:
    # Given a file whose first leg ran, and a copy of the request it sent for the second leg
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", _csv_file(_records()))
    pipeline.route.drain()
    sqs, url = pipeline.stack.clients.sqs, pipeline.stack.url(Resource.VALIDATION_QUEUE)
    assert pipeline.validation.run_once() == 1
    (second,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])[
        "Messages"
    ]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    # and the second leg ran too
    assert pipeline.validation.run_once() == 1
    before = pipeline.stack.clients.dynamodb.get_item(
        TableName=pipeline.stack.settings.name(Resource.JOBS_TABLE),
        Key={"pk": {"S": f"JOB#{pipeline.only_job('acme').job_id}"}, "sk": {"S": "JOB"}},
    )["Item"]
    # When the copy of the second leg's request is delivered again
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    reply = validate_handler.lambda_handler(
        {"Records": [lambda_sqs_record(second, arn)]}, FakeLambdaContext()
    )
    # Then it is acknowledged, and the job and the queue are as the second leg left them
    assert reply == {"batchItemFailures": []}
    after = pipeline.stack.clients.dynamodb.get_item(
        TableName=pipeline.stack.settings.name(Resource.JOBS_TABLE),
        Key={"pk": {"S": f"JOB#{pipeline.only_job('acme').job_id}"}, "sk": {"S": "JOB"}},
    )["Item"]
    assert after == before
    assert pipeline.queue_depth(Resource.VALIDATION_QUEUE) == 1


def test_the_next_legs_request_is_delivered_only_after_the_job_has_moved_to_that_leg(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the shipped hand-over delay
    monkeypatch.delenv(Tunable.VALIDATION_HANDOVER_DELAY_S.value)
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", _csv_file(_records()))
    pipeline.route.drain()
    # When the first leg hands over
    assert pipeline.validation.run_once() == 1
    # Then the job already waits for leg 2 while its request is still held back by the queue
    assert pipeline.only_job("acme").validation_leg == 2
    attributes = pipeline.stack.clients.sqs.get_queue_attributes(
        QueueUrl=pipeline.stack.url(Resource.VALIDATION_QUEUE),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesDelayed"]) == (
        "0",
        "1",
    )
    assert pipeline.validation.run_once() == 0


def test_a_later_leg_with_no_time_to_read_ends_the_job_failed(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file whose first leg ran
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", _csv_file(_records()))
    pipeline.route.drain()
    assert pipeline.validation.run_once() == 1
    # When the next leg's invocation has less time left than the validator keeps to record the job
    monkeypatch.setattr(pump_module, "FakeLambdaContext", lambda: FakeLambdaContext(timeout_ms=1_000))
    pipeline.run()
    # Then the job ends FAILED saying why, with nothing loaded and nothing dead-lettered
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED
    assert "ran out of time" in (job.error or "")
    assert pipeline.data.count_entity("acme", "contacts") == 0
    assert (
        pipeline.queue_depth(Resource.VALIDATION_DLQ) == pipeline.queue_depth(Resource.VALIDATION_QUEUE) == 0
    )


def test_a_leg_whose_invocation_runs_out_of_time_hands_over_and_the_validation_ends_exact(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the shipped cap on a leg (longer than this invocation has), and a validator clock on which each
    # reading of it takes 20 s: an invocation's reading time (60 s less the 30 s kept) is spent after its
    # first batch
    monkeypatch.delenv(Tunable.VALIDATION_LEG_SECONDS.value)
    ticks = itertools.count(step=20.0)

    def build() -> validate_handler.Dependencies:
        settings = PipelineSettings.from_env()
        validator = ImportValidator.from_settings(settings, AwsClients(), clock=lambda: next(ticks))
        return validate_handler.Dependencies(validator=validator)

    monkeypatch.setattr(validate_handler, "dependencies", ColdStart(build))
    data = _jsonl_file(_records())
    pipeline.put("tenants/acme/imports/contacts/contacts.jsonl", data)
    # When it is validated
    pipeline.validate_uploads()
    # Then each read leg stopped at its time and handed over, and the job's counts and report say what
    # the json module reads in the file
    assert pipeline.validation.invocations == -(-ROWS // READ_BATCH) + 1
    _assert_validated(pipeline, _jsonl_oracle(data))
