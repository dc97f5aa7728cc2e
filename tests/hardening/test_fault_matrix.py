"""Faults the pipeline survives with nothing lost: stored + reported = rows in the file, and the job's
counts add up exactly (batches done = total, no failed batch left, the table holds exactly the stored rows).

tests/integration/pipeline/test_faults.py already covers a redelivered batch, a loader dying between
writing and marking, `UnprocessedItems` on every other write and a validator dying after its first
`SendMessageBatch`; tests/integration/migration covers a transfer failing once and a target item
changed before verify. This matrix covers the rest.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from contextlib import redirect_stdout
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.import_reconcile import handler as reconcile_handler
from tenant_pipeline.errors import ThrottledError, WriteIncompleteError
from tenant_pipeline.imports.dead_letters import DEAD_LETTERED
from tenant_pipeline.imports.fanout import BatchFanout
from tenant_pipeline.imports.load import BatchLoader
from tenant_pipeline.migration.dispatch import PhaseRunner
from tenant_pipeline.migration.errors import MigrationStoreError, TransientMigrationError
from tenant_pipeline.store.jobs import Job, JobsLedger, JobStatus
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import BATCHES_QUEUE, DEAD_LETTER_SCHEDULE, Resource, Tunable
from tenant_telemetry.testing import InMemoryTelemetry
from tenantctl.cli import main as tenantctl
from tenantctl.local.schedule import scheduled_event
from tenantctl.migrate_command import start_migration, wait_for_migration
from tests.integration.migration.conftest import seed_tenant
from tests.integration.pipeline.conftest import FakeLambdaContext, Stack
from tests.integration.pipeline.pipeline import (
    Pipeline,
    contact_row,
    contacts_csv,
    load_through,
    notification_of,
    reset_handlers,
)

from .conftest import SOURCE, TARGET, Local

KEY = "tenants/acme/imports/contacts/contacts.csv"
ROWS = 95
INVALID = (4, 50, 94)
BATCH_ROWS = 10
BATCHES = 10  # 92 valid rows in batches of 10
WAIT_S = 120
SCHEDULED_EVENT = scheduled_event(DEAD_LETTER_SCHEDULE, "us-east-1")


@pytest.fixture
def pipeline(
    stack: Stack, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    monkeypatch.setenv(Tunable.BATCH_ROWS.value, str(BATCH_ROWS))
    reset_handlers()
    pipeline = Pipeline(stack)
    pipeline.tenants.create("acme", "us-east-1")
    pipeline.put(KEY, contacts_csv(contact_row(n, valid=n not in INVALID) for n in range(ROWS)))
    yield pipeline
    reset_handlers()


def assert_nothing_lost(pipeline: Pipeline) -> Job:
    """Every row stored or reported, counts exact, the table and the report agreeing with the job."""
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.PARTIAL, job.to_dict()
    assert job.error is None
    assert (job.total_rows, job.stored, job.invalid) == (ROWS, ROWS - len(INVALID), len(INVALID))
    assert job.stored + (job.invalid or 0) == ROWS
    assert (job.batches_total, job.batches_done, job.failed_batches) == (BATCHES, BATCHES, ())
    assert sorted(pipeline.jobs.batches_done(job.job_id)) == list(range(1, BATCHES + 1))
    assert pipeline.data.count_entity("acme", "contacts") == job.stored
    reported = sorted(int(line[0]) for line in pipeline.report_lines(job)[1:])
    assert reported == [n + 2 for n in INVALID]  # the header is line 1
    assert pipeline.queue_depth(Resource.BATCHES_QUEUE) == pipeline.queue_depth(Resource.BATCHES_DLQ) == 0
    return job


def publish_names(stack: Stack) -> None:
    """Publish the resources' names in SSM as a deployment does, so `tenantctl` finds them."""
    for resource in Resource:
        value = stack.queue_urls.get(resource) or resource.local_name("us-east-1")
        stack.clients.ssm.put_parameter(
            Name=resource.ssm_parameter, Value=value, Type="String", Overwrite=True
        )


# -- import faults (in-process moto) ---------------------------------------------------------------------


def test_a_poison_batch_reaches_the_dlq_and_tenantctl_redrive_finishes_the_job_after_the_fix(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batch 6 fails on every receive (a downstream fault)
    real = BatchLoader._load
    fixed = {"yet": False}

    def failing(self: BatchLoader, job: Job, message: Any, *rest: Any) -> Any:
        if not fixed["yet"] and message.header.batch_number == 6:
            raise RuntimeError("downstream rejected batch 6")
        return real(self, job, message, *rest)

    monkeypatch.setattr(BatchLoader, "_load", failing)
    pipeline.run()
    # Then after its receives it is in the DLQ and the job is FAILED, naming it; the rest is accounted for
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED
    assert job.failed_batches == (6,)
    assert job.error is not None and f"batch 6 failed {BATCHES_QUEUE.max_receive_count} times" in job.error
    assert pipeline.batches.failures == BATCHES_QUEUE.max_receive_count
    assert pipeline.queue_depth(Resource.BATCHES_DLQ) == 1
    assert job.stored + (job.invalid or 0) + BATCH_ROWS == ROWS
    assert pipeline.data.count_entity("acme", "contacts") == job.stored
    # When the fault is fixed and the operator runs `tenantctl redrive import-batches`
    fixed["yet"] = True
    publish_names(pipeline.stack)
    out = io.StringIO()
    with redirect_stdout(out):
        assert tenantctl(["redrive", "import-batches", "--json"]) == 0
    assert json.loads(out.getvalue()) == {
        "queue": BATCHES_QUEUE.queue.value,
        "dead_letter_queue": BATCHES_QUEUE.dlq.value,
        "moved": 1,
    }
    pipeline.run()
    # Then the job finishes with every row accounted for
    assert_nothing_lost(pipeline)


def test_a_batch_dead_lettered_without_running_our_code_ends_its_job_failed_until_redriven(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batch 4's every receive ends before the loader's code runs (a timeout, a crashed sandbox)
    real = BatchLoader.load
    fixed = {"yet": False}

    def dying(self: BatchLoader, body: Any, **kwargs: Any) -> Any:
        if not fixed["yet"] and json.loads(body)["batch_number"] == 4:
            raise RuntimeError("sandbox ended")
        return real(self, body, **kwargs)

    monkeypatch.setattr(BatchLoader, "load", dying)
    pipeline.run()
    # Then it is in the DLQ and nothing recorded it: the job is still RUNNING
    assert pipeline.queue_depth(Resource.BATCHES_DLQ) == 1
    assert pipeline.only_job("acme").status is JobStatus.RUNNING
    # When the dead-letter reconciler runs on its schedule
    outcome = reconcile_handler.lambda_handler(SCHEDULED_EVENT, FakeLambdaContext())
    # Then the job ends FAILED, naming the batch and why, and the message stays for redrive
    job = pipeline.only_job("acme")
    assert outcome["messages"] == 1 and outcome["finished_jobs"] == [job.job_id]
    assert (job.status, job.failed_batches) == (JobStatus.FAILED, (4,))
    assert job.error is not None and job.error.startswith("batch 4 failed")
    assert DEAD_LETTERED in job.error
    assert pipeline.queue_depth(Resource.BATCHES_DLQ) == 1
    # And a second run changes nothing
    assert reconcile_handler.lambda_handler(SCHEDULED_EVENT, FakeLambdaContext())["recorded"] == 0
    # When the fault is fixed and the batch redriven, the job finishes with every row accounted for
    fixed["yet"] = True
    publish_names(pipeline.stack)
    with redirect_stdout(io.StringIO()):
        assert tenantctl(["redrive", "import-batches"]) == 0
    pipeline.run()
    assert_nothing_lost(pipeline)
    assert reconcile_handler.lambda_handler(SCHEDULED_EVENT, FakeLambdaContext())["messages"] == 0


class ErrorEveryOtherCall:
    """Wraps a DynamoDB client: every other call of `operation` fails with `code` (before doing anything)."""

    def __init__(self, client: Any, operation: str, code: str) -> None:
        self._client = client
        self._operation = operation
        self._code = code
        self.calls = 0
        self.errors = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name != self._operation:
            return real

        def every_other(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls % 2 == 1:
                self.errors += 1
                raise ClientError({"Error": {"Code": self._code, "Message": "slow down"}}, self._operation)
            return real(**kwargs)

        return every_other


def test_throttling_errors_on_every_other_batch_write_are_retried_to_the_last_item(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB rejects every other BatchWriteItem outright (not with UnprocessedItems)
    wrappers: list[ErrorEveryOtherCall] = []

    def throttled_store(table: str, client: Any) -> TenantDataStore:
        wrappers.append(
            ErrorEveryOtherCall(client, "batch_write_item", "ProvisionedThroughputExceededException")
        )
        return TenantDataStore(table, wrappers[-1], sleep=lambda _: None)  # type: ignore[arg-type]

    load_through(monkeypatch, throttled_store)
    pipeline.run()
    # Then every batch was written on its retry, in the same invocation
    assert sum(wrapper.errors for wrapper in wrappers) >= BATCHES
    assert pipeline.batches.failures == 0
    assert_nothing_lost(pipeline)


def test_a_jobs_table_throttling_each_batchs_first_mark_still_counts_each_batch_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the jobs table throttles the first marking transaction of every batch (after its items were
    # written), past what the SDK's own retries absorb
    real = JobsLedger.mark_batch_done
    throttled: set[int] = set()

    def throttled_once(self: JobsLedger, job_id: str, batch_number: int, stored: int) -> bool:
        if batch_number not in throttled:
            throttled.add(batch_number)
            raise ThrottledError("mark batch: throttled (ThrottlingException)")
        return real(self, job_id, batch_number, stored)

    monkeypatch.setattr(JobsLedger, "mark_batch_done", throttled_once)
    pipeline.run()
    # Then every batch was redelivered once, rewrote its items and was counted once
    assert throttled == set(range(1, BATCHES + 1))
    assert pipeline.batches.failures == BATCHES
    assert_nothing_lost(pipeline)


def test_a_loader_dying_halfway_through_a_batchs_writes_is_redelivered_and_counted_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the loader of batch 3 runs out of time after writing half of its items, once
    real = TenantDataStore.put_items
    dying = {"left": 1}

    def half_then_die(self: TenantDataStore, items: Any, *, deadline: float | None = None) -> Any:
        if dying["left"] and any(item["sk"]["S"] == "c-20" for item in items):
            dying["left"] -= 1
            real(self, items[: len(items) // 2], deadline=deadline)
            raise WriteIncompleteError("5 items still unprocessed when time ran out")
        return real(self, items, deadline=deadline)

    monkeypatch.setattr(TenantDataStore, "put_items", half_then_die)
    pipeline.run()
    assert dying["left"] == 0 and pipeline.batches.failures == 1
    assert_nothing_lost(pipeline)


def test_a_validator_dying_after_its_last_send_is_retried_without_double_counting(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the validator dies after every batch was sent, before it marks the fan-out complete
    real = JobsLedger.mark_fanout_complete
    dying = {"left": 1}

    def die_once(self: JobsLedger, job_id: str) -> None:
        if dying["left"]:
            dying["left"] -= 1
            raise RuntimeError("sandbox died after the fan-out")
        real(self, job_id)

    monkeypatch.setattr(JobsLedger, "mark_fanout_complete", die_once)
    # When its batches are loaded, then the retried validation sends them all again
    pipeline.run()
    # Then every batch was received twice and counted once
    assert pipeline.validation.failures == 1
    assert pipeline.batches.invocations >= 2
    job = assert_nothing_lost(pipeline)
    assert job.fanout_complete


def test_a_validator_dying_before_its_first_send_is_retried_to_an_exact_job(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the validator dies after recording the validation, before sending any batch
    real = BatchFanout.send_all
    dying = {"left": 1}

    def die_once(self: BatchFanout, *args: Any, **kwargs: Any) -> Any:
        if dying["left"]:
            dying["left"] -= 1
            raise RuntimeError("sandbox died before the fan-out")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BatchFanout, "send_all", die_once)
    pipeline.run()
    assert pipeline.validation.failures == 1
    assert_nothing_lost(pipeline)


def test_a_validator_failing_on_every_receive_ends_its_job_failed_with_the_reason(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the validator dies before its fan-out on every receive of the notification
    def always_die(self: BatchFanout, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("sandbox died before the fan-out")

    monkeypatch.setattr(BatchFanout, "send_all", always_die)
    # When the notification is received until it dead-letters
    pipeline.run()
    # Then the job explains itself instead of staying RUNNING, and nothing was loaded
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED, job.to_dict()
    assert job.error is not None
    assert "validation failed on every attempt" in job.error
    assert "sandbox died before the fan-out" in job.error
    assert pipeline.data.count_entity("acme", "contacts") == 0
    assert pipeline.queue_depth(Resource.VALIDATION_DLQ) == 1


def test_a_notification_redelivered_after_the_job_finished_changes_nothing(pipeline: Pipeline) -> None:
    # Given a finished job
    pipeline.run()
    first = assert_nothing_lost(pipeline)
    # When S3's notification for the same object version arrives again, twice
    for _ in range(2):
        pipeline.stack.clients.sqs.send_message(
            QueueUrl=pipeline.stack.url(Resource.INGEST_QUEUE), MessageBody=notification_of(pipeline, KEY)
        )
    pipeline.run()
    # Then no batch is sent again and the job is unchanged
    again = assert_nothing_lost(pipeline)
    assert (again.finished_at, again.stored) == (first.finished_at, first.stored)


def test_a_batch_message_that_is_garbage_dead_letters_without_touching_any_job(pipeline: Pipeline) -> None:
    pipeline.run()
    before = assert_nothing_lost(pipeline)
    sqs = pipeline.stack.clients.sqs
    for body in ("not json", json.dumps({"v": 1, "job_id": before.job_id}), json.dumps({"v": 99})):
        sqs.send_message(QueueUrl=pipeline.stack.url(Resource.BATCHES_QUEUE), MessageBody=body)
    pipeline.run()
    assert pipeline.queue_depth(Resource.BATCHES_DLQ) == 3
    assert pipeline.batches.failures == 3 * BATCHES_QUEUE.max_receive_count
    after = pipeline.jobs.get(before.job_id)
    assert after.to_dict() == before.to_dict()


# -- migration faults (the local AWS; after every mock-based test of this module) -------------------------

PHASES_RERUN = ("freeze", "snapshot", "load", "cutover")
"""Transfer failing once is covered in tests/integration/migration; verify only reads."""


def _fail_once_after_running(phases: dict[str, PhaseRunner], phase: str) -> list[str]:
    """The phase does its work, then fails once with a transient error (its retry reruns it whole)."""
    real = phases[phase]
    failures: list[str] = []

    def flaky(context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        result = real(context, event)
        if not failures:
            failures.append(phase)
            raise TransientMigrationError(f"{phase}: connection reset after the work was done")
        return result

    phases[phase] = flaky
    return failures


@pytest.mark.parametrize("phase", PHASES_RERUN)
def test_a_migration_phase_failing_once_after_doing_its_work_is_rerun_to_an_exact_copy(
    local_aws: Local, phases: dict[str, PhaseRunner], phase: str
) -> None:
    # Given a tenant whose migration phase fails once, after its work was done
    tenant_id = seed_tenant(local_aws, contacts=9, orders=4)
    before = local_aws.items(tenant_id, SOURCE)
    failures = _fail_once_after_running(phases, phase)
    # When it migrates
    result = wait_for_migration(
        local_aws.target(), start_migration(local_aws.target(), tenant_id, TARGET, chunk_items=5), WAIT_S
    )
    # Then the retry reran the phase and the target holds exactly the source's items
    assert failures == [phase]
    assert result["status"] == "SUCCEEDED", result
    assert result["record_count"] == result["target_record_count"] == len(before) == 13
    assert result["checksum_match"] is True
    assert local_aws.items(tenant_id, TARGET) == before
    for region in (SOURCE, TARGET):
        tenant = local_aws.directory(region).get(tenant_id)
        assert (tenant.home_region, tenant.status) == (TARGET, TenantStatus.ACTIVE)


@pytest.mark.parametrize("tamper", ["item-deleted", "item-added", "number-changed"])
def test_a_target_tampered_before_verify_is_rolled_back(
    local_aws: Local, phases: dict[str, PhaseRunner], tamper: str
) -> None:
    tenant_id = seed_tenant(local_aws, contacts=5, orders=3)
    before = local_aws.items(tenant_id, SOURCE)
    verify = phases["verify"]
    table = local_aws.name(Resource.TENANT_DATA_TABLE, TARGET)
    dynamodb = local_aws.client("dynamodb", TARGET)

    def tampered(context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        items = local_aws.items(tenant_id, TARGET)
        if tamper == "item-deleted":
            dynamodb.delete_item(TableName=table, Key={"pk": items[0]["pk"], "sk": items[0]["sk"]})
        elif tamper == "item-added":
            dynamodb.put_item(TableName=table, Item={**items[0], "sk": {"S": "zz-intruder"}})
        else:
            order = next(item for item in items if "amount" in item)
            dynamodb.put_item(TableName=table, Item={**order, "amount": {"N": "999.25"}})
        return verify(context, event)

    phases["verify"] = tampered
    result = wait_for_migration(
        local_aws.target(), start_migration(local_aws.target(), tenant_id, TARGET), WAIT_S
    )
    assert result["status"] == "ROLLED_BACK", result
    assert result["checksum_match"] is False
    assert "cutover" not in result["phases"]
    assert local_aws.items(tenant_id, TARGET) == []
    assert local_aws.items(tenant_id, SOURCE) == before
    tenant = local_aws.directory(SOURCE).get(tenant_id)
    assert (tenant.home_region, tenant.status) == (SOURCE, TenantStatus.ACTIVE)


def test_a_phase_failing_for_good_rolls_back_and_leaves_the_source_as_it_was(
    local_aws: Local, phases: dict[str, PhaseRunner]
) -> None:
    # Given the target's table refuses the writes of the second chunk (not a transient error)
    tenant_id = seed_tenant(local_aws, contacts=8, orders=2)
    before = local_aws.items(tenant_id, SOURCE)
    real = phases["load"]
    loads: list[str] = []

    def failing(context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        loads.append(str(event.get("chunk")))
        if len(loads) == 2:
            raise MigrationStoreError("batch write to tenant-data: AccessDeniedException")
        return real(context, event)

    phases["load"] = failing
    result = wait_for_migration(
        local_aws.target(), start_migration(local_aws.target(), tenant_id, TARGET, chunk_items=4), WAIT_S
    )
    # Then the migration rolled back: the target emptied, the source intact, the tenant active at home
    assert result["status"] == "ROLLED_BACK", result
    assert "MigrationStoreError" in result["error"]
    assert local_aws.items(tenant_id, TARGET) == []
    assert local_aws.items(tenant_id, SOURCE) == before
    tenant = local_aws.directory(SOURCE).get(tenant_id)
    assert (tenant.home_region, tenant.status) == (SOURCE, TenantStatus.ACTIVE)
