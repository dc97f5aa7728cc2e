"""Tenant isolation: every path that takes a tenant id (import keys, batch messages, job queries, exports,
migrations), given another tenant's id or a forged one, neither reads nor writes another tenant's data.

The tenants here share prefixes and record ids on purpose (`iso-a` and `iso-a-corp` both hold `c-1`), so
anything keyed or scanned by prefix instead of exactly would show. Migrations, which need the local AWS
(never alive beside this module's moto mock), are in test_isolation_migrations.py.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.export import handler as export_handler
from tenant_pipeline.errors import InvalidTenantIdError, UnknownJobError, UnknownTenantError
from tenant_pipeline.export.errors import InvalidExportRequestError
from tenant_pipeline.imports.home_region import TenantElsewhereError, refuse_outside_home_region
from tenant_pipeline.imports.keys import claim_check_key
from tenant_pipeline.store.jobs import JobStatus
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Resource
from tenantctl.cli import main as tenantctl
from tests.integration.pipeline.conftest import REGION, FakeLambdaContext, Stack
from tests.integration.pipeline.pipeline import Pipeline, contacts_csv

A, A_CORP = "iso-a", "iso-a-corp"
FORGED_IDS = [
    pytest.param("", id="empty"),
    pytest.param("ISO-A", id="upper-case"),
    pytest.param("iso-a#contacts", id="hash-separator"),
    pytest.param("iso-a#contacts#0", id="whole-partition-key"),
    pytest.param("../iso-a", id="dot-dot"),
    pytest.param("iso-a/../iso-a-corp", id="path"),
    pytest.param("iso-\u0430", id="cyrillic-look-alike"),
    pytest.param("iso-a\u0000", id="nul"),
    pytest.param("iso-a ", id="trailing-space"),
    pytest.param("i", id="too-short"),
    pytest.param("a" * 64, id="too-long"),
    pytest.param("*", id="wildcard"),
]
FORGED = FORGED_IDS
FORGED_AT_THE_COMMAND_LINE = [FORGED_IDS[i] for i in (0, 2, 4, 6)]
"""A few of them through `tenantctl` (each call discovers the resources anew: too slow for all)."""


def rows_for(tenant: str) -> list[list[str]]:
    """The same record ids for every tenant, with values that name the tenant."""
    return [
        [f"c-{n}", f"{n}@{tenant}.example.com", f"{tenant} {n}", "30", "2025-01-02T03:04:05Z", "GB", ""]
        for n in range(6)
    ]


@pytest.fixture(scope="module")
def two_tenants(shared_stack: Stack) -> Stack:
    """`iso-a` and `iso-a-corp`, each with the same six record ids imported through the pipeline."""
    pipeline = Pipeline(shared_stack)
    for tenant in (A, A_CORP):
        pipeline.tenants.create(tenant, REGION)
        pipeline.put(f"tenants/{tenant}/imports/contacts/people.csv", contacts_csv(rows_for(tenant)))
    pipeline.run()
    for tenant in (A, A_CORP):
        assert pipeline.only_job(tenant).status is JobStatus.SUCCEEDED
    publish_names(shared_stack)
    return shared_stack


@pytest.fixture
def pipeline(two_tenants: Stack, shared_pipeline: Pipeline) -> Pipeline:
    return shared_pipeline


def publish_names(stack: Stack) -> None:
    """Publish the resources' names in SSM as a deployment does, so `tenantctl` finds them."""
    for resource in Resource:
        value = stack.queue_urls.get(resource) or resource.local_name(REGION)
        stack.clients.ssm.put_parameter(
            Name=resource.ssm_parameter, Value=value, Type="String", Overwrite=True
        )


def loaded_job_id(pipeline: Pipeline, tenant: str) -> str:
    """The id of the tenant's import of `people.csv` (later tests add refused jobs beside it)."""
    (job,) = [
        j for j in pipeline.jobs.list_for_tenant(tenant) if (j.source_uri or "").endswith("/people.csv")
    ]
    return job.job_id


def snapshot(pipeline: Pipeline) -> dict[str, Any]:
    """Both tenants' records and jobs, to compare before and after an attempt to cross over."""
    return {
        tenant: (
            sorted((r["id"], r["name"]) for r in pipeline.data.query_entity(tenant, "contacts")),
            sorted((j.job_id, j.status.value, j.stored) for j in pipeline.jobs.list_for_tenant(tenant)),
        )
        for tenant in (A, A_CORP)
    }


# -- the tenant store and the import path ---------------------------------------------------------------


def test_tenants_with_the_same_record_ids_and_a_shared_prefix_read_only_their_own(pipeline: Pipeline) -> None:
    for tenant in (A, A_CORP):
        records = list(pipeline.data.query_entity(tenant, "contacts"))
        assert sorted(r["id"] for r in records) == [f"c-{n}" for n in range(6)]
        assert {r["name"].rsplit(" ", 1)[0] for r in records} == {tenant}
        assert pipeline.data.count_entity(tenant, "contacts") == 6


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(
            "tenants/iso-a/imports/contacts/../../../iso-a-corp/imports/contacts/x.csv", id="dot-dot"
        ),
        pytest.param("tenants/iso-a/imports/iso-a-corp/x.csv", id="as-entity"),
        pytest.param("tenants/iso-a/imports/contacts/iso-a-corp/x.csv", id="as-folder"),
        pytest.param("tenants/iso-a/imports/contacts/iso-a-corp%2Fx.csv", id="encoded-slash"),
    ],
)
def test_an_upload_naming_another_tenant_in_its_key_is_refused_to_its_owner(
    pipeline: Pipeline, key: str
) -> None:
    before = snapshot(pipeline)
    pipeline.put(
        key, contacts_csv([["c-1", "x@evil.example.com", "Intruder", "1", "2025-01-02T03:04:05Z", "GB", ""]])
    )
    pipeline.run()
    after = snapshot(pipeline)
    assert after[A_CORP] == before[A_CORP]  # not a record, not a job
    assert after[A][0] == before[A][0]
    refused = [j for j in pipeline.jobs.list_for_tenant(A) if j.source_uri and j.source_uri.endswith(key)]
    assert len(refused) == 1 and refused[0].status is JobStatus.FAILED and refused[0].stored == 0


def _batch(job_id: str, tenant: str, **overrides: Any) -> str:
    body: dict[str, Any] = {
        "v": 1,
        "job_id": job_id,
        "tenant_id": tenant,
        "entity": "contacts",
        "batch_number": 99,
        "row_count": 1,
        "columns": ["id", "email", "name"],
        "rows": [["c-1", "x@evil.example.com", "Intruder"]],
    }
    body.update(overrides)
    return json.dumps(body)


@pytest.mark.parametrize(
    "forge",
    [
        "other-tenants-job",
        "other-tenant-in-header",
        "claim-check-in-other-tenants-folder",
        "claim-check-in-another-bucket",
    ],
)
def test_a_forged_batch_message_writes_nothing_anywhere(pipeline: Pipeline, forge: str) -> None:
    before = snapshot(pipeline)
    job_a, job_corp = loaded_job_id(pipeline, A), loaded_job_id(pipeline, A_CORP)
    claim = {"bucket": pipeline.stack.bucket, "key": claim_check_key(A_CORP, job_corp, 1)}
    body = {
        "other-tenants-job": _batch(job_corp, A),
        "other-tenant-in-header": _batch(job_a, A_CORP),
        "claim-check-in-other-tenants-folder": _batch(job_a, A, rows=None, claim_check=claim),
        "claim-check-in-another-bucket": _batch(
            job_a,
            A,
            rows=None,
            claim_check={"bucket": "someone-elses-bucket", "key": claim_check_key(A, job_a, 1)},
        ),
    }[forge]
    pipeline.stack.clients.sqs.send_message(
        QueueUrl=pipeline.stack.url(Resource.BATCHES_QUEUE), MessageBody=body
    )
    pipeline.run()
    assert snapshot(pipeline) == before
    assert pipeline.queue_depth(Resource.BATCHES_DLQ) >= 1


def test_a_tenant_whose_home_is_another_region_is_refused_imports_here(two_tenants: Stack) -> None:
    directory = Pipeline(two_tenants).tenants
    assert directory.region == REGION
    moved = directory.set_status(A, TenantStatus.ACTIVE, home_region="eu-west-1")
    try:
        with pytest.raises(TenantElsewhereError, match="now lives in eu-west-1, not us-east-1"):
            refuse_outside_home_region(moved, directory.region)
        refuse_outside_home_region(directory.get(A_CORP), directory.region)  # at home: admitted
        refuse_outside_home_region(moved, None)  # a validator that cannot tell its region admits
    finally:
        directory.set_status(A, TenantStatus.ACTIVE, home_region=REGION)


# -- job queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("forged", FORGED)
def test_job_and_data_queries_refuse_a_forged_tenant_id(pipeline: Pipeline, forged: str) -> None:
    with pytest.raises(InvalidTenantIdError):
        pipeline.jobs.list_for_tenant(forged)
    with pytest.raises(InvalidTenantIdError):
        pipeline.data.count_entity(forged, "contacts")
    with pytest.raises(InvalidTenantIdError):
        next(pipeline.data.query_entity(forged, "contacts"))


def test_each_tenants_job_list_holds_only_its_jobs(pipeline: Pipeline) -> None:
    for tenant in (A, A_CORP):
        jobs = pipeline.jobs.list_for_tenant(tenant)
        assert jobs and {job.tenant_id for job in jobs} == {tenant}


@pytest.mark.parametrize("forged", FORGED_AT_THE_COMMAND_LINE)
def test_tenantctl_jobs_with_a_forged_tenant_id_fails_in_one_line(
    pipeline: Pipeline, forged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tenantctl(["jobs", forged, "--json"]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("tenantctl: error:") and captured.err.count("\n") == 1


# -- exports ----------------------------------------------------------------------------------------


def export(payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = export_handler.lambda_handler(payload, FakeLambdaContext(function_name="export"))
    return result


def exported_rows(stack: Stack, outcome: dict[str, Any]) -> list[dict[str, str]]:
    (entry,) = outcome["files"]
    body = stack.clients.s3.get_object(Bucket=outcome["bucket"], Key=entry["key"])["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture(scope="module")
def export_cold_start(two_tenants: Stack) -> Iterator[None]:
    """The export function's clients, built once for this module's moto world."""
    export_handler.dependencies.reset()
    yield
    export_handler.dependencies.reset()


@pytest.fixture
def exports(pipeline: Pipeline, export_cold_start: None) -> Pipeline:
    return pipeline


def test_an_export_holds_only_its_tenants_records(exports: Pipeline) -> None:
    for tenant in (A, A_CORP):
        outcome = export({"tenant_id": tenant, "entities": ["contacts"], "format": "csv"})
        assert outcome["status"] == "SUCCEEDED", outcome
        rows = exported_rows(exports.stack, outcome)
        assert sorted(row["id"] for row in rows) == [f"c-{n}" for n in range(6)]
        assert {row["name"].rsplit(" ", 1)[0] for row in rows} == {tenant}
        assert all(entry["key"].count(tenant) >= 1 for entry in outcome["files"])


@pytest.mark.parametrize("forged", FORGED)
def test_an_export_for_a_forged_tenant_id_is_refused_before_any_job(exports: Pipeline, forged: str) -> None:
    before = snapshot(exports)
    with pytest.raises((InvalidTenantIdError, UnknownTenantError, InvalidExportRequestError)):
        export({"tenant_id": forged, "entities": ["contacts"], "format": "csv"})
    assert snapshot(exports) == before


def test_an_export_naming_another_tenants_job_id_is_refused(exports: Pipeline) -> None:
    theirs = export({"tenant_id": A_CORP, "entities": ["contacts"], "format": "jsonl"})
    before = exports.jobs.get(theirs["job_id"]).to_dict()
    with pytest.raises(UnknownJobError):
        export({"tenant_id": A, "job_id": theirs["job_id"], "continue": True})
    # A caller cannot choose a job id at all: naming one, an export's or an import's, is refused.
    for payload in (
        {"tenant_id": A, "entities": ["contacts"], "format": "jsonl", "job_id": theirs["job_id"]},
        {"tenant_id": A, "entities": ["contacts"], "format": "csv", "job_id": loaded_job_id(exports, A)},
    ):
        with pytest.raises(InvalidExportRequestError, match="unknown field"):
            export(payload)
    assert exports.jobs.get(theirs["job_id"]).to_dict() == before
