"""The store adapters on moto: tenant directory, jobs ledger (exactly-once batches), tenant data."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from unittest.mock import patch

import pytest
from botocore.exceptions import ClientError

from tenant_pipeline.errors import (
    InvalidTenantIdError,
    StoreError,
    TenantExistsError,
    TenantStatusConflictError,
    UnknownJobError,
    UnknownTenantError,
)
from tenant_pipeline.imports.completion import ROOT_SPAN, JobCompleter
from tenant_pipeline.store.jobs import CONFLICT_ATTEMPTS, Job, JobKind, JobsLedger, JobStatus
from tenant_pipeline.store.tenant_data import QUERY_PAGE_ITEMS, TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory, TenantStatus
from tenant_pipeline.topology import Resource
from tenant_telemetry.testing import InMemoryTelemetry

from .conftest import Stack


def _tenants(stack: Stack) -> TenantDirectory:
    return TenantDirectory(stack.settings.name(Resource.TENANTS_TABLE), stack.clients.dynamodb)


def _jobs(stack: Stack) -> JobsLedger:
    return JobsLedger(stack.settings.name(Resource.JOBS_TABLE), stack.clients.dynamodb)


def _job(job_id: str, tenant: str = "acme", started_at: str = "2025-11-26T12:00:00.000Z") -> Job:
    return Job(
        job_id=job_id,
        tenant_id=tenant,
        kind=JobKind.IMPORT,
        status=JobStatus.RUNNING,
        started_at=started_at,
        entity_type="contacts",
        trace={"traceparent": "x"},
        trace_id="ab" * 16,
    )


def test_tenants_are_created_once_read_listed_and_change_status(stack: Stack) -> None:
    tenants = _tenants(stack)
    created = tenants.create("acme", "us-east-1", max_invalid_ratio=0.2)
    tenants.create("globex", "eu-west-1")
    assert tenants.get("acme") == created
    assert created.to_dict()["status"] == "active" and created.max_invalid_ratio == 0.2
    assert [t.tenant_id for t in tenants.list()] == ["acme", "globex"]
    with pytest.raises(TenantExistsError):
        tenants.create("acme", "us-east-1")
    moved = tenants.set_status("acme", TenantStatus.MIGRATING, expected=TenantStatus.ACTIVE)
    assert moved.status is TenantStatus.MIGRATING
    with pytest.raises(TenantStatusConflictError, match="migrating"):
        tenants.set_status("acme", TenantStatus.SUSPENDED, expected=TenantStatus.ACTIVE)
    assert tenants.set_status("acme", "active", home_region="eu-west-1").home_region == "eu-west-1"


def test_unknown_and_forged_tenants_are_refused(stack: Stack) -> None:
    tenants = _tenants(stack)
    with pytest.raises(UnknownTenantError):
        tenants.get("nobody")
    with pytest.raises(UnknownTenantError):
        tenants.set_status("nobody", TenantStatus.SUSPENDED)
    for forged in ("ACME", "a", "acme/../globex", "\u0430cme"):
        with pytest.raises(InvalidTenantIdError):
            tenants.create(forged, "us-east-1")


def test_a_job_is_created_once_and_listed_newest_first(stack: Stack) -> None:
    jobs = _jobs(stack)
    assert jobs.create(_job("imp-1", started_at="2025-11-26T12:00:00.000Z"))
    assert not jobs.create(_job("imp-1"))
    jobs.create(_job("imp-2", started_at="2025-11-26T13:00:00.000Z"))
    jobs.create(_job("imp-3", tenant="globex"))
    assert [j.job_id for j in jobs.list_for_tenant("acme")] == ["imp-2", "imp-1"]
    assert [j.job_id for j in jobs.list_for_tenant("acme", limit=1)] == ["imp-2"]
    job = jobs.get("imp-1")
    assert job.to_dict()["status"] == "RUNNING" and job.trace == {"traceparent": "x"}
    with pytest.raises(UnknownJobError):
        jobs.get("imp-404")


def test_a_batch_counts_once_however_often_it_is_marked(stack: Stack) -> None:
    jobs = _jobs(stack)
    jobs.create(_job("imp-1"))
    jobs.record_validation(
        "imp-1", total_rows=10, invalid=1, batches_total=2, report_uri=None, validated_at="t"
    )
    assert jobs.mark_batch_done("imp-1", 1, 5)
    assert not jobs.mark_batch_done("imp-1", 1, 5)
    assert jobs.mark_batch_done("imp-1", 2, 4)
    job = jobs.get("imp-1")
    assert (job.batches_done, job.stored) == (2, 9)
    assert jobs.batches_done("imp-1") == [1, 2]
    # The counts live on the counter shards: counting never wrote the job item itself
    raw = stack.clients.dynamodb.get_item(
        TableName=stack.settings.name(Resource.JOBS_TABLE), Key={"pk": {"S": "JOB#imp-1"}, "sk": {"S": "JOB"}}
    )["Item"]
    assert (raw["stored"], raw["batches_done"]) == ({"N": "0"}, {"N": "0"})


def test_a_failed_batch_shows_on_the_job_until_a_later_success_counts_it(stack: Stack) -> None:
    jobs = _jobs(stack)
    jobs.create(_job("imp-1"))
    jobs.record_validation(
        "imp-1", total_rows=4, invalid=0, batches_total=2, report_uri=None, validated_at="t"
    )
    assert jobs.mark_batch_done("imp-1", 1, 2)
    assert jobs.mark_batch_failed("imp-1", 2, "downstream said no")
    assert not jobs.mark_batch_failed("imp-1", 2, "dead-lettered")  # recorded: the first reason stays
    assert not jobs.mark_batch_failed("imp-1", 1, "late")  # already done: never shown as failed
    job = jobs.get("imp-1")
    assert (job.failed_batches, job.failure_reasons) == ((2,), {2: "downstream said no"})
    failed = jobs.finish("imp-1", JobStatus.FAILED, finished_at="t1", error="batch 2 failed", counts=job)
    assert failed is not None and failed.error == "batch 2 failed"
    assert [j.failed_batches for j in jobs.list_for_tenant("acme")] == [(2,)]  # the listing's copy
    assert jobs.mark_batch_done("imp-1", 2, 2)
    job = jobs.get("imp-1")
    assert (job.failed_batches, job.batches_done, job.stored) == ((), 2, 4)
    done = jobs.finish(
        "imp-1",
        JobStatus.SUCCEEDED,
        finished_at="t2",
        expect=(JobStatus.RUNNING, JobStatus.FAILED),
        counts=job,
    )
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.error is None
    listed = jobs.list_for_tenant("acme")[0]
    assert (listed.failed_batches, listed.batches_done, listed.stored) == ((), 2, 4)


def test_the_ledger_writes_migration_records_once_and_updates_only_existing_ones(stack: Stack) -> None:
    jobs = _jobs(stack)
    assert jobs.create_migration("acme", "mig-1", {"status": {"S": "RUNNING"}, "n": {"N": "1"}})
    assert not jobs.create_migration("acme", "mig-1", {"status": {"S": "SUCCEEDED"}})
    assert jobs.update_migration(
        "acme",
        "mig-1",
        set_values={"phase": {"S": "snapshot"}},
        add_values={"n": {"N": "2"}},
        set_if_absent={"status": {"S": "FAILED"}, "first": {"S": "x"}},
        remove=["nothing-there"],
    )
    assert not jobs.update_migration("acme", "mig-404", set_values={"phase": {"S": "x"}})
    item = stack.clients.dynamodb.get_item(
        TableName=stack.settings.name(Resource.JOBS_TABLE),
        Key={"pk": {"S": "MIGRATION#acme"}, "sk": {"S": "mig-1"}},
    )["Item"]
    assert {name: item[name] for name in ("status", "n", "phase", "first")} == {
        "status": {"S": "RUNNING"},
        "n": {"N": "3"},
        "phase": {"S": "snapshot"},
        "first": {"S": "x"},
    }
    assert jobs.list_for_tenant("acme") == []  # never in the jobs' index


def test_finishing_is_conditional(stack: Stack) -> None:
    jobs = _jobs(stack)
    jobs.create(_job("imp-1"))
    assert jobs.finish("imp-1", JobStatus.SUCCEEDED, finished_at="t", expect=(JobStatus.FAILED,)) is None
    assert jobs.finish("imp-1", JobStatus.FAILED, finished_at="t", error="x") is not None
    assert jobs.finish("imp-1", JobStatus.SUCCEEDED, finished_at="t") is None


def test_the_validation_lease_admits_one_validator_at_a_time(stack: Stack) -> None:
    jobs = _jobs(stack)
    jobs.create(_job("imp-1"))
    assert jobs.claim_validation("imp-1", now_epoch=100, lease_until_epoch=400)
    assert not jobs.claim_validation("imp-1", now_epoch=200, lease_until_epoch=500)
    assert jobs.claim_validation("imp-1", now_epoch=401, lease_until_epoch=700)  # expired: taken over
    jobs.release_validation("imp-1")
    assert jobs.claim_validation("imp-1", now_epoch=402, lease_until_epoch=700)
    jobs.mark_fanout_complete("imp-1")
    assert not jobs.claim_validation("imp-1", now_epoch=10_000, lease_until_epoch=10_100)


def test_tenant_data_is_found_across_every_shard(stack: Stack) -> None:
    store = TenantDataStore(stack.settings.name(Resource.TENANT_DATA_TABLE), stack.clients.dynamodb)
    items = [{**store.record_key("acme", "contacts", f"c-{n}", 4), "n": {"N": str(n)}} for n in range(60)]
    items.append({**store.record_key("globex", "contacts", "c-1", 4), "n": {"N": "-1"}})
    store.put_items(items)
    records = list(store.query_entity("acme", "contacts", 4))
    assert sorted(int(r["n"]) for r in records) == list(range(60))
    assert store.count_entity("acme", "contacts", 4) == 60
    assert store.count_entity("globex", "contacts", 4) == 1
    assert store.count_entity("acme", "orders", 4) == 0
    # A reader that took a smaller count than the tenant's would miss records: the count matters.
    assert store.count_entity("acme", "contacts", 2) < 60


def test_reading_a_large_partition_holds_one_bounded_page_at_a_time(stack: Stack) -> None:
    # Given more items in one partition than one page holds (one shard, so one partition)
    client = stack.clients.dynamodb
    store = TenantDataStore(stack.settings.name(Resource.TENANT_DATA_TABLE), client)
    total = 2 * QUERY_PAGE_ITEMS + 7
    store.put_items(
        [{**store.record_key("acme", "orders", f"o-{n}", 1), "n": {"N": str(n)}} for n in range(total)]
    )
    page_sizes: list[int] = []
    real_query = client.query

    def recording_query(**request: Any) -> Any:
        reply = real_query(**request)
        page_sizes.append(len(reply.get("Items", [])))
        return reply

    # When every item is read back
    with patch.object(client, "query", side_effect=recording_query):
        read = sum(1 for _ in store.query_items("acme", "orders", 1))
    # Then all of them arrive, in pages no larger than the cap
    assert read == total
    assert max(page_sizes) == QUERY_PAGE_ITEMS
    assert len(page_sizes) >= 3


class _ConflictingFirst:
    """A DynamoDB client whose first `conflicts` transactions are cancelled as AWS does on a conflict."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self.conflicts = conflicts
        self.calls = 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_batch_whose_count_conflicts_with_another_is_counted_on_retry(stack: Stack) -> None:
    _jobs(stack).create(_job("imp-c"))
    # Given a job item that two other batches were updating at the same moment, twice
    client = _ConflictingFirst(stack.clients.dynamodb, conflicts=2)
    jobs = JobsLedger(stack.settings.name(Resource.JOBS_TABLE), client)  # type: ignore[arg-type]
    # When a batch is counted, then it counts, after two retries, once
    assert jobs.mark_batch_done("imp-c", 1, 7)
    assert client.calls == 3
    job = jobs.get("imp-c")
    assert (job.batches_done, job.stored) == (1, 7)


def test_a_count_that_keeps_conflicting_fails_the_batch_for_a_later_receive(stack: Stack) -> None:
    _jobs(stack).create(_job("imp-d"))
    client = _ConflictingFirst(stack.clients.dynamodb, conflicts=100)
    jobs = JobsLedger(stack.settings.name(Resource.JOBS_TABLE), client)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        jobs.mark_batch_done("imp-d", 1, 7)
    assert client.calls == CONFLICT_ATTEMPTS
    assert _jobs(stack).get("imp-d").batches_done == 0


class _SerialConflicting(_ConflictingFirst):
    """Loaders' calls one at a time (moto's in-process backend is not thread-safe), interleaved across
    threads, every third transaction cancelled by a conflict, as concurrent updates of one item get
    them on AWS (a loader's retry after a conflict goes through, so no batch runs out of tries)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, conflicts=0)
        self._lock = threading.Lock()
        self._retrying = threading.local()

    def transact_write_items(self, **kwargs: Any) -> Any:
        conflict = self.calls % 3 == 2 and not getattr(self._retrying, "value", False)
        self._retrying.value = conflict
        with self._lock:
            self.conflicts = self.calls + 1 if conflict else 0
            return super().transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def serialised(**kwargs: Any) -> Any:
            with self._lock:
                return method(**kwargs)

        return serialised


def test_concurrent_loaders_on_one_job_lose_no_count_and_finish_it_once(
    stack: Stack, telemetry: InMemoryTelemetry
) -> None:
    root = {"name": ROOT_SPAN, "traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01", "start_time_unix_nano": 1}
    _jobs(stack).create(replace(_job("imp-busy"), trace=root))
    _jobs(stack).record_validation(
        "imp-busy", total_rows=480, invalid=0, batches_total=160, report_uri=None, validated_at="t"
    )
    client = _SerialConflicting(stack.clients.dynamodb)
    jobs = JobsLedger(stack.settings.name(Resource.JOBS_TABLE), client)  # type: ignore[arg-type]
    completer = JobCompleter(jobs, max_receives=5)

    # Given 8 loaders counting 20 batches each of one job at once, a third of their tries conflicting,
    # each trying to finish the job after every batch as the loader does
    def load(loader: int) -> list[tuple[bool, Job | None]]:
        results = []
        for n in range(1, 21):
            counted = jobs.mark_batch_done("imp-busy", loader * 20 + n, 3)
            results.append((counted, completer.try_complete("imp-busy")))
        return results

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [result for batch in pool.map(load, range(8)) for result in batch]
    # Then every batch counted once, the job holds every count, and exactly one loader finished it
    assert all(counted for counted, _ in results) and len(results) == 160
    assert client.calls > 160
    finished = [job for _, job in results if job is not None]
    assert len(finished) == 1 and finished[0].status is JobStatus.SUCCEEDED
    job = _jobs(stack).get("imp-busy")
    assert (job.status, job.batches_done, job.stored) == (JobStatus.SUCCEEDED, 160, 480)
    assert len(_jobs(stack).batches_done("imp-busy")) == 160
    assert [span.name for span in telemetry.spans()].count(ROOT_SPAN) == 1
