"""Refused imports: each ends with a clear reason in the job and its report, nothing loaded, no crash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tenant_pipeline.store.jobs import JobStatus
from tenant_pipeline.store.tenants import TenantStatus
from tenant_telemetry.testing import InMemoryTelemetry

from .conftest import Stack, point_values
from .pipeline import Pipeline, contact_row, contacts_csv, reset_handlers

GOOD = contacts_csv(contact_row(n) for n in range(5))


@pytest.fixture
def pipeline(stack: Stack, telemetry: InMemoryTelemetry) -> Iterator[Pipeline]:
    reset_handlers()
    pipeline = Pipeline(stack)
    pipeline.tenants.create("acme", "us-east-1")
    yield pipeline
    reset_handlers()


@pytest.mark.parametrize(
    ("key", "body", "status", "reason", "field"),
    [
        (
            "tenants/acme/imports/invoices/a.csv",
            GOOD,
            JobStatus.FAILED,
            "unknown entity type 'invoices'",
            "entity",
        ),
        ("tenants/acme/imports/contacts/a.xlsx", GOOD, JobStatus.FAILED, "unsupported file type", "format"),
        ("tenants/acme/imports/contacts/sub/a.csv", GOOD, JobStatus.FAILED, "no sub-folders", "key"),
        ("tenants/acme/imports/contacts/../a.csv", GOOD, JobStatus.FAILED, "'..'", "key"),
        ("tenants/acme/imports/contacts/", b"", JobStatus.FAILED, "folder marker", "key"),
        ("tenants/acme/imports/contacts/empty.csv", b"", JobStatus.FAILED_VALIDATION, "", "file"),
        (
            "tenants/acme/imports/contacts/header.csv",
            contacts_csv([]),
            JobStatus.FAILED_VALIDATION,
            "",
            "file",
        ),
        (
            "tenants/acme/imports/contacts/latin1.csv",
            "id,email,name,created_at\r\nc-1,é@x.io,Zoé,2025-01-01T00:00:00Z\r\n".encode("latin-1"),
            JobStatus.FAILED_VALIDATION,
            "",
            "file",
        ),
        (
            "tenants/acme/imports/contacts/cols.csv",
            b"id,email,name,created_at,shoe_size\r\nc-1,a@b.io,A,2025-01-01T00:00:00Z,9\r\n",
            JobStatus.FAILED_VALIDATION,
            "shoe_size",
            "file",
        ),
    ],
)
def test_a_refused_import_explains_itself(  # noqa: PLR0917 - one parameter per table column
    pipeline: Pipeline, key: str, body: bytes, status: JobStatus, reason: str, field: str
) -> None:
    pipeline.put(key, body)
    pipeline.run()
    job = pipeline.only_job("acme")
    assert job.status is status
    assert job.error and reason in job.error
    assert job.stored == 0
    assert pipeline.data.count_entity("acme", "contacts") == 0
    lines = pipeline.report_lines(job)
    assert lines[-1][1] == field and lines[-1][3] == job.error
    assert pipeline.validation.crashed == 0


@pytest.mark.parametrize(
    ("status", "reason"),
    [(TenantStatus.SUSPENDED, "tenant is suspended"), (TenantStatus.MIGRATING, "tenant is migrating")],
)
def test_a_tenant_that_is_not_active_gets_no_import(
    pipeline: Pipeline, status: TenantStatus, reason: str
) -> None:
    pipeline.tenants.set_status("acme", status)
    pipeline.put("tenants/acme/imports/contacts/a.csv", GOOD)
    pipeline.run()
    job = pipeline.only_job("acme")
    assert job.status is JobStatus.FAILED and reason in (job.error or "")
    assert pipeline.data.count_entity("acme", "contacts") == 0
    assert pipeline.report_lines(job)[1][1] == "tenant"


def test_an_unknown_tenant_gets_no_job_but_a_reject_record(pipeline: Pipeline) -> None:
    pipeline.put("tenants/ghost/imports/contacts/a.csv", GOOD)
    pipeline.run()
    assert pipeline.jobs.list_for_tenant("ghost") == []
    assert pipeline.data.count_entity("ghost", "contacts") == 0
    (rejected,) = pipeline.rejects.list()
    assert rejected.key == "tenants/ghost/imports/contacts/a.csv"
    assert rejected.reason == "unknown tenant 'ghost'" and rejected.claimed_tenant == "ghost"


def test_a_wrong_folder_is_recorded_with_a_hint(pipeline: Pipeline) -> None:
    pipeline.put("tenants/acme/import/contacts/a.csv", GOOD)
    pipeline.run()
    assert pipeline.jobs.list_for_tenant("acme") == []
    (rejected,) = pipeline.rejects.list()
    assert "folder 'import' is not 'imports' (did you mean 'imports'?)" in rejected.reason


def test_a_duplicate_notification_of_a_rejected_upload_is_recorded_once(pipeline: Pipeline) -> None:
    pipeline.put("tenants/ghost/imports/contacts/a.csv", GOOD)
    pipeline.redeliver("tenants/ghost/imports/contacts/a.csv")
    pipeline.run()
    assert len(pipeline.rejects.list()) == 1


def test_rejects_are_not_among_any_tenants_jobs(pipeline: Pipeline) -> None:
    # Given a stray upload naming tenant acme's neighbour, and one in acme's own wrong folder
    pipeline.put("tenants/ghost/imports/contacts/a.csv", GOOD)
    pipeline.put("tenants/acme/import/contacts/a.csv", GOOD)
    pipeline.run()
    # Then the operator's log has both, and no tenant's job list shows either
    assert len(pipeline.rejects.list()) == 2
    assert pipeline.jobs.list_for_tenant("acme") == []
    assert pipeline.jobs.list_for_tenant("ghost") == []


@pytest.mark.parametrize(
    "key",
    [
        "tenants/ACME/imports/contacts/a.csv",
        "tenants/\u0430cme/imports/contacts/a.csv",
    ],  # Cyrillic a look-alike
)
def test_an_unattributable_key_is_counted_not_crashed(
    pipeline: Pipeline, telemetry: InMemoryTelemetry, key: str
) -> None:
    pipeline.put(key, GOOD)
    pipeline.run()
    assert pipeline.validation.crashed == 0 and pipeline.validation.failures == 0
    assert pipeline.jobs.list_for_tenant("acme") == []
    errors = point_values(telemetry.metrics()["data.import.errors"])
    assert sum(value for attrs, value in errors if attrs["import.error_type"] == "rejected_upload") == 1
    (rejected,) = pipeline.rejects.list()
    assert "is not a tenant id" in rejected.reason
