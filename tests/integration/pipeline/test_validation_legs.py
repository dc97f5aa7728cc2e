"""A file validated over several invocations (legs) on moto: each leg reads one batch of records and
hands over to the next through the validation queue; the job ends as if one invocation had read it,
as Python's csv and json modules read the file."""

from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from moto.s3 import models as moto_s3_models
from opentelemetry.sdk.trace import ReadableSpan

from functions.import_validate import handler as validate_handler
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.errors import StaleCheckpointError
from tenant_pipeline.formats import ReadLimits
from tenant_pipeline.imports import legs as legs_module
from tenant_pipeline.imports.timings import ValidationTiming
from tenant_pipeline.imports.validate import VALIDATE_SPAN, ImportValidator
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.jobs import JobsLedger, JobStatus
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Resource, Tunable
from tenant_telemetry.testing import InMemoryTelemetry

from . import pump as pump_module
from .conftest import FakeLambdaContext, Stack
from .pipeline import Pipeline, reset_handlers
from .pump import lambda_sqs_record

ROWS = 2_100
READ_BATCH = ReadLimits().batch_rows
"""Records a leg reads when its time is up after every batch: the file takes three read legs."""
READ_LEGS = -(-ROWS // READ_BATCH)
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
    # Then three legs read it, a fourth joined the report and recorded the verdict, and one leg per
    # batch sent them; nothing went to a dead-letter queue
    job = pipeline.only_job("acme")
    assert pipeline.validation.invocations == -(-ROWS // READ_BATCH) + 1 + job.batches_total
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
    _validator(monkeypatch, clock=_ticking_clock(step_s=20.0))
    data = _jsonl_file(_records())
    pipeline.put("tenants/acme/imports/contacts/contacts.jsonl", data)
    # When it is validated
    pipeline.validate_uploads()
    # Then each leg stopped at its time and handed over (three read legs, the verdict's leg, a leg per
    # batch sent), and the job's counts and report say what the json module reads in the file
    job = pipeline.only_job("acme")
    assert pipeline.validation.invocations == -(-ROWS // READ_BATCH) + 1 + job.batches_total
    _assert_validated(pipeline, _jsonl_oracle(data))


def _validator(monkeypatch: pytest.MonkeyPatch, **options: Any) -> None:
    """Validators built with `options` (`ImportValidator.from_settings`'s) from the next cold start on."""

    def build() -> validate_handler.Dependencies:
        settings = PipelineSettings.from_env()
        validator = ImportValidator.from_settings(settings, AwsClients(), **options)
        return validate_handler.Dependencies(validator=validator)

    monkeypatch.setattr(validate_handler, "dependencies", ColdStart(build))


def _ticking_clock(step_s: float) -> Callable[[], float]:
    """A clock each reading of which is `step_s` later than the last."""
    ticks = itertools.count(step=step_s)
    return lambda: next(ticks)


KEY_MEMORY = 64
"""Keys the tracker holds before it spills: nearly every id of the file goes to its spill partitions, so
its repeats are found only after the reading, by the finishing stages."""


def _small_key_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    _validator(monkeypatch, key_memory=KEY_MEMORY)
    # Report parts of 1 KB, so the joined report takes several parts (and legs); S3 asks 5 MiB of
    # each part but the last, which the local S3 lowers for this test.
    monkeypatch.setattr(legs_module, "REPORT_PART_BYTES", 1024)
    monkeypatch.setattr(moto_s3_models, "S3_UPLOAD_PART_MIN_SIZE", 1024)


def _leg_stages(telemetry: InMemoryTelemetry) -> list[str]:
    return [
        str(span.attributes["import.finish_stage"])
        for span in telemetry.spans()
        if span.name == VALIDATE_SPAN and span.attributes and "import.finish_stage" in span.attributes
    ]


def _internal_keys(pipeline: Pipeline, name: str) -> list[str]:
    bucket = pipeline.stack.settings.name(Resource.INGEST_BUCKET)
    pages = pipeline.stack.clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [
        item["Key"]
        for page in pages
        for item in page.get("Contents", [])
        if item["Key"].rsplit("/", 1)[-1].startswith(name)
    ]


def test_repeats_found_only_after_the_reading_are_settled_in_legs_and_the_import_ends_exact(
    pipeline: Pipeline, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file read in three legs by a key tracker that spills nearly every id, with ids repeated
    # a few rows and a leg or more apart
    _small_key_memory(monkeypatch)
    data = _csv_file(_records())
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", data)
    # When it is validated one unit of work per leg, and loaded
    pipeline.run()
    # Then a leg resolved each spill partition, one settled each segment, the report took several parts,
    # and one leg sent each batch
    stages = _leg_stages(telemetry)
    partitions = {key.rsplit("-", 1)[-1] for key in _internal_keys(pipeline, "spill-")}
    assert stages.count("duplicates") == len(partitions) > 1
    assert stages.count("settle") == len(_internal_keys(pipeline, "settled")) == READ_LEGS
    assert stages.count("verdict") > 1
    assert stages.count("fanout") == pipeline.only_job("acme").batches_total
    assert pipeline.queue_depth(Resource.VALIDATION_DLQ) == pipeline.queue_depth(Resource.BATCHES_DLQ) == 0
    # and the validation's recorded timing spans every leg, the first read leg to the last batch sent
    legs = sorted((span for span in telemetry.spans() if span.name == VALIDATE_SPAN), key=_start)
    timing = ValidationTiming.from_dict(
        pipeline.jobs.timings(pipeline.only_job("acme").job_id)[0]["validation"]
    )
    assert _start(legs[0]) <= timing.started_ns <= _end(legs[0])
    assert _end(legs[READ_LEGS - 1]) >= timing.pass_ended_ns >= _start(legs[READ_LEGS - 1])
    assert _start(legs[-1]) <= timing.fanout_ended_ns <= _end(legs[-1])
    # and the table and the report say what the csv module reads in the file
    _assert_exact(pipeline, _csv_oracle(data))
    # and the report lists its lines in the order one invocation reading the whole file lists them
    legged = pipeline.report_lines(pipeline.only_job("acme"))
    monkeypatch.delenv(Tunable.VALIDATION_LEG_SECONDS.value)
    validate_handler.dependencies.reset()
    pipeline.tenants.create("umbrella", "us-east-1")
    pipeline.put("tenants/umbrella/imports/contacts/contacts.csv", data)
    before = pipeline.validation.invocations
    pipeline.run()
    assert pipeline.validation.invocations == before + 1
    assert pipeline.report_lines(pipeline.only_job("umbrella")) == legged


def _start(span: ReadableSpan) -> int:
    return span.start_time or 0


def _end(span: ReadableSpan) -> int:
    return span.end_time or 0


def test_a_finishing_leg_that_fails_before_recording_its_work_is_done_again_exact(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same file, and a job ledger that fails once to record the end of a leg of each finishing
    # stage, after that leg's work (its objects; the report completed and the verdict recorded; batches sent)
    _small_key_memory(monkeypatch)
    real = JobsLedger.pass_validation_leg
    seen: dict[str, int] = {}

    def fail_once_per_stage(self: JobsLedger, job_id: str, *, leg: int, checkpoint: dict[str, Any]) -> bool:
        stage = checkpoint["stage"]
        seen[stage] = seen.get(stage, 0) + 1
        if seen[stage] == (1 if stage == "fanout" else 2):  # fanout's first: the verdict's leg
            raise RuntimeError(f"sandbox died after a {stage} leg's work")
        return real(self, job_id, leg=leg, checkpoint=checkpoint)

    monkeypatch.setattr(JobsLedger, "pass_validation_leg", fail_once_per_stage)
    data = _csv_file(_records())
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", data)
    # When it is validated and loaded
    pipeline.run()
    # Then each failed leg was run again from the same checkpoint, and the import is exact
    assert {stage for stage, count in seen.items() if count >= 2} >= {
        "duplicates",
        "settle",
        "verdict",
        "fanout",
    }
    assert pipeline.validation.failures >= 4
    _assert_exact(pipeline, _csv_oracle(data))


def test_a_file_read_whole_with_too_little_time_left_is_finished_in_legs_exact(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the shipped cap on a leg (longer than this invocation has), and a validator clock on which each
    # reading of it takes 20 s: a file of one batch is read whole in the first invocation, which then has
    # less time left than the reading took
    monkeypatch.delenv(Tunable.VALIDATION_LEG_SECONDS.value)
    _validator(monkeypatch, clock=_ticking_clock(step_s=20.0))
    data = _csv_file(_records()[:READ_BATCH])
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", data)
    # When it is validated and loaded
    pipeline.run()
    # Then it was finished in legs: the reading, the verdict (its time then up), then a leg per batch sent
    assert pipeline.validation.invocations == 2 + pipeline.only_job("acme").batches_total
    _assert_exact(pipeline, _csv_oracle(data))


class _DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


class _FillingTmp:
    """`shutil.disk_usage` of a `/tmp` that a leg fills past its share by the end of its first batch: each
    leg asks once as it begins (all free) and then after each batch (nearly full)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: str) -> Any:
        self.calls += 1
        return (
            shutil._ntuple_diskusage(100, 0, 100) if self.calls % 2 else shutil._ntuple_diskusage(100, 90, 10)
        )


def test_a_read_leg_that_fills_its_share_of_tmp_hands_over_and_the_import_ends_exact(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no cap on a leg's time, and a /tmp that each leg fills past its half with its first batch
    monkeypatch.delenv(Tunable.VALIDATION_LEG_SECONDS.value)
    monkeypatch.setattr(shutil, "disk_usage", _FillingTmp())
    data = _jsonl_file(_records())
    pipeline.put("tenants/acme/imports/contacts/contacts.jsonl", data)
    # When it is validated and loaded
    pipeline.run()
    # Then each read leg stopped after a batch, one more leg finished it, and the import is exact
    assert pipeline.validation.invocations == READ_LEGS + 1
    _assert_exact(pipeline, _jsonl_oracle(data))


def test_a_tenant_suspended_while_its_batches_are_sent_in_legs_keeps_the_recorded_verdict(
    pipeline: Pipeline,
) -> None:
    # Given a file read in legs whose verdict is recorded, its batches being sent one per leg
    data = _csv_file(_records())
    pipeline.put("tenants/acme/imports/contacts/contacts.csv", data)
    pipeline.route.drain()
    assert pipeline.validation.run_once() == 1
    while not pipeline.only_job("acme").batches_total:
        assert pipeline.validation.run_once() == 1
    assert not pipeline.only_job("acme").fanout_complete
    # When the tenant is suspended before the rest are sent
    pipeline.tenants.set_status("acme", TenantStatus.SUSPENDED)
    pipeline.run()
    # Then the legs after the verdict finish as the reading left the file, and the import is exact
    _assert_exact(pipeline, _csv_oracle(data))


def test_a_checkpoint_of_an_earlier_validator_ends_its_job_failed_with_the_reason() -> None:
    earlier = {"leg": 4, "stage": "finish", "total": 10, "invalid": 0, "read": 10}
    with pytest.raises(StaleCheckpointError, match="upload the file again"):
        legs_module.LegCheckpoint.from_dict(earlier)
