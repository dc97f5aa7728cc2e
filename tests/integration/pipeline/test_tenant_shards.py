"""Each tenant's shard count: recorded when the tenant is created, taken by the import's writes."""

from __future__ import annotations

import binascii
from collections.abc import Iterator

import pytest

from tenant_pipeline.store.jobs import JobStatus
from tenant_pipeline.topology import Resource, Tunable
from tenant_telemetry.testing import InMemoryTelemetry
from tests.legacy_tenants import put_legacy_tenant

from .conftest import REGION, Stack
from .pipeline import Pipeline, contact_row, contacts_csv, reset_handlers

ROWS = 200


@pytest.fixture
def pipeline(
    stack: Stack, telemetry: InMemoryTelemetry, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    monkeypatch.setenv(Tunable.BATCH_ROWS.value, "50")
    reset_handlers()
    yield Pipeline(stack)
    reset_handlers()


def add_legacy_tenant(pipeline: Pipeline, tenant_id: str) -> None:
    table = pipeline.stack.settings.name(Resource.TENANTS_TABLE)
    put_legacy_tenant(pipeline.stack.clients.dynamodb, table, tenant_id, REGION)


def test_a_new_tenant_records_32_shards_and_an_entry_without_a_count_reads_as_8(pipeline: Pipeline) -> None:
    created = pipeline.tenants.create("acme", REGION)
    add_legacy_tenant(pipeline, "oldco")
    assert created.shard_count == pipeline.tenants.get("acme").shard_count == 32
    assert pipeline.tenants.get("oldco").shard_count == 8
    assert [(t.tenant_id, t.shard_count) for t in pipeline.tenants.list()] == [("acme", 32), ("oldco", 8)]
    assert pipeline.tenants.create("tiny", REGION, shard_count=1).shard_count == 1
    for refused in (0, 257):
        with pytest.raises(ValueError, match="shard count"):
            pipeline.tenants.create("other", REGION, shard_count=refused)


@pytest.mark.parametrize(("legacy", "shards"), [(False, 32), (True, 8)])
def test_a_reimported_file_stores_each_id_once_in_the_shard_its_tenants_count_gives(
    pipeline: Pipeline, legacy: bool, shards: int
) -> None:
    # Given a new tenant (32 shards) or one created before counts were recorded (8)
    if legacy:
        add_legacy_tenant(pipeline, "acme")
    else:
        pipeline.tenants.create("acme", REGION)
    body = contacts_csv(contact_row(n) for n in range(ROWS))
    # When the same file is imported twice (two uploads: two jobs)
    for name in ("contacts.csv", "again.csv"):
        pipeline.put(f"tenants/acme/imports/contacts/{name}", body)
        pipeline.run()
    jobs = pipeline.jobs.list_for_tenant("acme")
    assert [(job.status, job.stored) for job in jobs] == [(JobStatus.SUCCEEDED, ROWS)] * 2
    # Then the table holds each id once, in the shard CRC-32 of the id modulo the tenant's count gives
    items = pipeline.scanned_items("acme")
    assert sorted(item["sk"]["S"] for item in items) == sorted(f"c-{n}" for n in range(ROWS))
    for item in items:
        record_id = item["sk"]["S"]
        assert item["pk"]["S"] == f"acme#contacts#{binascii.crc32(record_id.encode()) % shards}"
    assert {int(item["pk"]["S"].rsplit("#", 1)[1]) for item in items} == set(range(shards))
    # And a reader taking the tenant's count finds every record
    assert pipeline.data.count_entity("acme", "contacts") == ROWS
