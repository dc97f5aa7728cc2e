"""Faults the import survives with every row accounted for: redelivery, crashes, throttling, poison."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenant_pipeline.store.batch_queue import BatchQueue
from tenant_pipeline.store.jobs import Job, JobsLedger, JobStatus
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.topology import Resource, Tunable
from tenant_telemetry.testing import InMemoryTelemetry

from . import pump as pump_module
from .conftest import FakeLambdaContext, Stack, attributes
from .pipeline import Pipeline, contact_row, contacts_csv, load_through, reset_handlers

KEY = "tenants/acme/imports/contacts/contacts.csv"
ROWS = 120
INVALID = (3, 77)


@pytest.fixture
def pipeline(
    stack: Stack, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    monkeypatch.setenv(Tunable.BATCH_ROWS.value, "10")
    reset_handlers()
    pipeline = Pipeline(stack)
    pipeline.tenants.create("acme", "us-east-1")
    pipeline.put(KEY, contacts_csv(contact_row(n, valid=n not in INVALID) for n in range(ROWS)))
    yield pipeline
    reset_handlers()


def assert_exact(pipeline: Pipeline, job: Job) -> None:
    """The invariant: stored + reported = rows in the file, and the table holds exactly the stored rows."""
    assert job.status is JobStatus.PARTIAL, job.error
    assert (job.total_rows, job.stored, job.invalid) == (ROWS, ROWS - len(INVALID), len(INVALID))
    assert (job.batches_total, job.batches_done, job.failed_batches) == (12, 12, ())
    assert pipeline.data.count_entity("acme", "contacts") == job.stored
    assert len(pipeline.report_lines(job)) == 1 + len(INVALID)
    assert sorted(pipeline.jobs.batches_done(job.job_id)) == list(range(1, 13))


def test_a_redelivered_batch_counts_once(pipeline: Pipeline, telemetry: InMemoryTelemetry) -> None:
    pipeline.validate_uploads()
    # Given a batch message delivered twice (SQS is at-least-once)
    sqs, url = pipeline.stack.clients.sqs, pipeline.stack.url(Resource.BATCHES_QUEUE)
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, MessageAttributeNames=["All"])[
        "Messages"
    ]
    for _ in range(2):
        sqs.send_message(
            QueueUrl=url, MessageBody=message["Body"], MessageAttributes=message["MessageAttributes"]
        )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # When the loaders run
    pipeline.run()
    # Then the job's counts are exact and one batch span says it was a redelivery
    assert_exact(pipeline, pipeline.only_job("acme"))
    batch_spans = [s for s in telemetry.spans() if s.name == "data.import.batch"]
    assert len(batch_spans) == 13
    assert sum(bool(attributes(s)["import.redelivered"]) for s in batch_spans) == 1


def test_a_loader_dying_after_writing_and_before_marking_is_redelivered_and_counted_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a loader that dies between writing a batch's items and marking the batch
    real = JobsLedger.mark_batch_done
    crashes = {4: 1, 9: 1}

    def dying(self: JobsLedger, job_id: str, batch_number: int, stored: int) -> bool:
        if crashes.get(batch_number):
            crashes[batch_number] -= 1
            raise RuntimeError("sandbox died")
        return real(self, job_id, batch_number, stored)

    monkeypatch.setattr(JobsLedger, "mark_batch_done", dying)
    pipeline.run()
    # Then the redelivered batches rewrote the same items and were counted once
    assert pipeline.batches.failures == 2
    assert_exact(pipeline, pipeline.only_job("acme"))


class ThrottlingDynamo:
    """Wraps a DynamoDB client: every other `BatchWriteItem` leaves half its items unprocessed."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0
        self.throttled_items = 0

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.calls += 1
        ((table, requests),) = RequestItems.items()
        if self.calls % 2 == 0 or len(requests) == 1:
            return self._client.batch_write_item(RequestItems=RequestItems)
        half = len(requests) // 2
        self._client.batch_write_item(RequestItems={table: requests[half:]})
        self.throttled_items += half
        return {"UnprocessedItems": {table: requests[:half]}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_throttled_writes_are_retried_until_every_item_is_stored(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, telemetry: InMemoryTelemetry
) -> None:
    wrappers: list[ThrottlingDynamo] = []

    def throttled_store(table: str, client: Any) -> TenantDataStore:
        wrappers.append(ThrottlingDynamo(client))
        return TenantDataStore(table, wrappers[-1], sleep=lambda _: None)  # type: ignore[arg-type]

    load_through(monkeypatch, throttled_store)
    pipeline.run()
    assert sum(w.throttled_items for w in wrappers) > 0
    assert_exact(pipeline, pipeline.only_job("acme"))
    retries = [
        int(attributes(s)["import.write_retries"]) for s in telemetry.spans() if s.name == "data.import.batch"
    ]
    assert sum(retries) > 0


def test_a_validator_dying_mid_fanout_is_retried_without_double_counting(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the validator dies after the first SendMessageBatch call of its fan-out
    real = BatchQueue.send_batch
    calls = {"n": 0}

    def dying(self: BatchQueue, entries: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("sandbox died mid fan-out")
        real(self, entries)

    pipeline.route.drain()  # the router sends through BatchQueue too: routed before the fault
    monkeypatch.setattr(BatchQueue, "send_batch", dying)
    # When its first batches are loaded before the retry re-sends them all
    pipeline.validation.run_once()  # dies after sending batches 1-10
    assert pipeline.validation.failures == 1
    pipeline.batches.drain()
    job = pipeline.only_job("acme")
    assert (job.status, job.batches_done, job.fanout_complete) == (JobStatus.RUNNING, 10, False)
    pipeline.run()
    # Then the re-sent batches counted once
    job = pipeline.only_job("acme")
    assert job.fanout_complete
    assert_exact(pipeline, job)


def test_a_job_whose_stored_rows_fall_short_ends_failed_not_succeeded(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a loader that writes a batch but counts one item fewer than it holds (a lost row)
    real = JobsLedger.mark_batch_done

    def short(self: JobsLedger, job_id: str, batch_number: int, stored: int) -> bool:
        return real(self, job_id, batch_number, stored - 1 if batch_number == 5 else stored)

    monkeypatch.setattr(JobsLedger, "mark_batch_done", short)
    # When every batch is done
    pipeline.run()
    # Then the job does not look healthy: it ends FAILED and says the counts do not add up
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED
    assert (job.batches_done, job.stored) == (12, ROWS - len(INVALID) - 1)
    assert job.error == "counts do not add up: 120 rows read, 117 stored and 2 invalid (+1 unaccounted)"


def test_a_validation_pass_that_loses_a_record_loads_nothing(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a validation pass that drops one invalid record from its outcomes
    from tenant_pipeline.imports import validate as validate_module

    class LossyPass(validate_module.ValidationPass):
        def __iter__(self) -> Iterator[Any]:
            for batch in super().__iter__():
                if batch.invalid:
                    batch.invalid, batch.invalid_at = batch.invalid[1:], batch.invalid_at[1:]
                yield batch

    monkeypatch.setattr(validate_module, "ValidationPass", LossyPass)
    # When the file is validated
    pipeline.run()
    # Then the job ends FAILED before anything is loaded, with the counts in its reason
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED
    assert job.error == (
        "counts do not add up: 120 records read, 119 validated, 118 valid rows queued and 1 invalid; "
        "nothing was loaded"
    )
    assert pipeline.data.count_entity("acme", "contacts") == 0


def test_a_validation_out_of_time_ends_its_job_failed_with_the_reason(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a validator invocation with less time left than it keeps to record the job's end
    monkeypatch.setattr(pump_module, "FakeLambdaContext", lambda: FakeLambdaContext(timeout_ms=1_000))
    # When it validates the file
    pipeline.run()
    # Then the job ends FAILED, saying why, with nothing loaded and nothing dead-lettered
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED
    assert "ran out of time" in (job.error or "")
    assert pipeline.data.count_entity("acme", "contacts") == 0
    assert pipeline.queue_depth(Resource.VALIDATION_DLQ) == 0
    assert pipeline.queue_depth(Resource.BATCHES_QUEUE) == 0
