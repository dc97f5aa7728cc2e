"""Erasing a tenant on moto: refused while its jobs run; a rerun after a failure erases what is left."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenant_pipeline.entities import entity_names
from tenant_pipeline.erasure import ErasureRefusedError, RegionStores, TenantEraser
from tenant_pipeline.migration.tenant_items import TenantItems
from tenant_pipeline.store.jobs import JobKind, JobStatus
from tenant_pipeline.topology import Resource
from tenant_telemetry.testing import InMemoryTelemetry

from .conftest import REGION, Stack
from .pipeline import Pipeline, contact_row, contacts_csv, reset_handlers


@pytest.fixture
def pipeline(stack: Stack, telemetry: InMemoryTelemetry) -> Iterator[Pipeline]:
    reset_handlers()
    pipeline = Pipeline(stack)
    for tenant_id in ("acme", "acme-corp"):
        pipeline.tenants.create(tenant_id, REGION)
        pipeline.put(
            f"tenants/{tenant_id}/imports/contacts/a.csv", contacts_csv(contact_row(n) for n in range(5))
        )
    pipeline.run()
    yield pipeline
    reset_handlers()


def eraser(pipeline: Pipeline) -> TenantEraser:
    settings, clients = pipeline.stack.settings, pipeline.stack.clients
    stores = RegionStores(
        region=REGION,
        directory=pipeline.tenants,
        items=TenantItems(settings.name(Resource.TENANT_DATA_TABLE), clients.dynamodb, entity_names()),
        s3=clients.s3,
        ingest_bucket=settings.name(Resource.INGEST_BUCKET),
        export_bucket=settings.name(Resource.EXPORT_BUCKET),
        snapshot_bucket=settings.name(Resource.SNAPSHOT_BUCKET),
    )
    return TenantEraser([stores], lambda region: pipeline.jobs)


def test_an_erasure_is_refused_while_an_import_runs(pipeline: Pipeline) -> None:
    # Given an import of acme that is still running
    pipeline.put("tenants/acme/imports/contacts/b.csv", contacts_csv(contact_row(n) for n in range(5)))
    pipeline.validate_uploads()  # validated and fanned out, not loaded
    running = [job for job in pipeline.jobs.list_for_tenant("acme") if job.status is JobStatus.RUNNING]
    assert running
    # Then its erasure is refused and nothing is touched
    with pytest.raises(ErasureRefusedError, match=r"job\(s\) running"):
        eraser(pipeline).erase("acme")
    assert pipeline.tenants.get("acme").status.value == "active"
    assert pipeline.data.count_entity("acme", "contacts") == 5


def test_an_erasure_removes_only_the_tenant_and_can_run_again(pipeline: Pipeline) -> None:
    job = eraser(pipeline).erase("acme")
    assert (job.kind, job.status) == (JobKind.DELETION, JobStatus.SUCCEEDED)
    assert job.details["totals"]["records"] == 5
    assert pipeline.data.count_entity("acme", "contacts") == 0
    assert pipeline.data.count_entity("acme-corp", "contacts") == 5
    assert pipeline.tenants.tombstone("acme") is not None
    # A second run (after a failure, say) finds only the tombstone and erases what is left: nothing
    again = eraser(pipeline).erase("acme")
    assert again.status is JobStatus.SUCCEEDED and again.details["totals"]["records"] == 0
    # A tenant never known is refused
    with pytest.raises(ErasureRefusedError, match="unknown tenant 'ghost'"):
        eraser(pipeline).erase("ghost")


def test_a_rerun_erases_every_shard_of_the_count_its_tombstone_keeps(pipeline: Pipeline) -> None:
    # Given acme's records spread over all its 32 shards, and an erasure that buried it and then failed
    pipeline.put("tenants/acme/imports/contacts/b.csv", contacts_csv(contact_row(n) for n in range(5, 100)))
    pipeline.run()
    items = pipeline.scanned_items("acme")
    assert len(items) == 100
    assert max(int(item["pk"]["S"].rsplit("#", 1)[1]) for item in items) >= 8
    pipeline.tenants.bury("acme", job_id="del-failed", shard_count=pipeline.tenants.get("acme").shard_count)
    # When the erasure runs again, knowing the tenant only by its tombstone
    job = eraser(pipeline).erase("acme")
    # Then it finds the records in every one of the 32 shards
    assert job.status is JobStatus.SUCCEEDED and job.details["totals"]["records"] == 100
    assert pipeline.scanned_items("acme") == []
    tombstone = pipeline.tenants.tombstone("acme")
    assert tombstone is not None and tombstone.shard_count == 32
