"""Uploads on `tenantctl local up`: deliberate re-uploads are new jobs, stray uploads are accounted for."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tenantctl.commands.demo import sample_path
from tests.e2e.conftest import LocalAws

pytestmark = pytest.mark.e2e


def test_reuploading_the_same_file_makes_a_second_job(local_aws: LocalAws) -> None:
    # Given a tenant whose file was imported
    local_aws.tenantctl("tenants", "create", "reup")
    sample = str(sample_path("contacts.csv"))
    first = local_aws.tenantctl_json("import", "reup", "contacts", sample, "--wait")
    # When the user uploads the identical file again on purpose
    second = local_aws.tenantctl_json("import", "reup", "contacts", sample, "--wait")
    # Then it is a job of its own, reported by --wait
    assert first["job_id"] != second["job_id"]
    assert first["status"] == second["status"] == "SUCCEEDED"
    assert {job["job_id"] for job in local_aws.tenantctl_json("jobs", "reup")} == {
        first["job_id"],
        second["job_id"],
    }


def _rejects_for(local_aws: LocalAws, key: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for rejected in local_aws.tenantctl_json("rejects", "--since", "1h"):
            if rejected["key"] == key:
                return dict(rejected)
        time.sleep(0.5)
    raise AssertionError(f"{key} was not recorded as rejected within {timeout_s}s")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("tenants/nosuch/imports/contacts/c.csv", "unknown tenant 'nosuch'"),
        ("tenants/straytest/import/contacts/c.csv", "did you mean 'imports'?"),
        ("tenants/Not_A_Tenant/imports/contacts/c.csv", "is not a tenant id"),
    ],
)
def test_an_upload_that_cannot_become_a_job_is_listed_with_its_reason(
    local_aws: LocalAws, key: str, reason: str
) -> None:
    local_aws.tenantctl("tenants", "create", "straytest", check=False)
    bucket = local_aws.tenantctl_json("local", "info")["resources"]["ingest-bucket"]
    local_aws.aws("s3", "cp", str(sample_path("contacts.csv")), f"s3://{bucket}/{key}")
    rejected = _rejects_for(local_aws, key)
    assert reason in rejected["reason"]
    assert rejected["uri"] == f"s3://{bucket}/{key}"
    table = local_aws.tenantctl("rejects").stdout
    assert table.splitlines()[0].split() == ["RECORDED", "REGION", "UPLOAD", "REASON"]
    assert key in table
    assert all(
        job["kind"] != "import" or "import/" not in (job["source_uri"] or "")
        for job in local_aws.tenantctl_json("jobs", "straytest")
    )
