"""`tenantctl tenants delete` on `tenantctl local up`: everything of one tenant goes, nothing of another."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tenant_pipeline import topology
from tenant_pipeline.imports.keys import batches_prefix, report_key
from tenant_pipeline.topology import Resource
from tenantctl.commands.demo import sample_path
from tests.e2e.conftest import LocalAws

pytestmark = pytest.mark.e2e

GONE = "erase"
KEPT = ("erase-kept", "erased")
"""Neighbours whose ids start with (or extend) the erased one's: a prefix match would reach them."""
REGIONS = topology.DEFAULT_REGIONS


def _client(local_aws: LocalAws, service: str, region: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=local_aws.endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _everything(local_aws: LocalAws) -> dict[str, list[Any]]:
    """Every item of every table and every object version of every bucket, in every region."""
    seen: dict[str, list[Any]] = {}
    for region in REGIONS:
        dynamodb, s3 = _client(local_aws, "dynamodb", region), _client(local_aws, "s3", region)
        for table in topology.TABLES:
            name = table.table.local_name(region)
            items = [
                item
                for page in dynamodb.get_paginator("scan").paginate(TableName=name)
                for item in page["Items"]
            ]
            seen[f"{region}:{name}"] = sorted(json.dumps(item, sort_keys=True) for item in items)
        for bucket in topology.BUCKETS:
            name = bucket.local_name(region)
            versions = [
                f"{entry['Key']}@{entry['VersionId']}"
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=name)
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            seen[f"{region}:{name}"] = sorted(versions)
    return seen


def _of_tenant(entry: str, tenant_id: str) -> bool:
    """Whether an item (JSON) or object version (key@version) is the tenant's data or directory entry."""
    markers = (
        f"tenants/{tenant_id}/",
        f"migrations/{tenant_id}/",
        report_key(tenant_id, "JOB").split("JOB")[0],  # the tenant's error reports' folder
        batches_prefix(tenant_id, "JOB").split("JOB")[0],  # and its claim-check batches'
        f'"{tenant_id}#',
        f'"TENANT#{tenant_id}"',
    )
    return any(marker in entry for marker in markers)


def _belongs_to_others(snapshot: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {
        where: [entry for entry in entries if not _of_tenant(entry, GONE)]
        for where, entries in snapshot.items()
    }


@pytest.fixture(scope="module")
def deleted(local_aws: LocalAws, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # Given the tenant and its neighbours, each with imports (one with an error report) and an export
    for tenant_id in (GONE, *KEPT):
        local_aws.tenantctl("tenants", "create", tenant_id)
        local_aws.tenantctl("import", tenant_id, "contacts", str(sample_path("contacts.csv")), "--wait")
        local_aws.tenantctl("import", tenant_id, "orders", str(sample_path("orders.csv")), "--wait")
        out = tmp_path_factory.mktemp(f"export-{tenant_id}")
        local_aws.tenantctl("export", tenant_id, "--entities", "contacts", "--out", str(out))
    # and the tenant migrated, so its data is in both regions' stores and in the snapshot buckets
    local_aws.tenantctl("migrate", GONE, "--to", REGIONS[1], "--wait")
    before = _everything(local_aws)
    # When it is deleted
    job = local_aws.tenantctl_json("tenants", "delete", GONE, "--yes")
    return {"job": job, "before": before, "after": _everything(local_aws)}


def test_every_item_and_object_of_the_tenant_is_gone(deleted: dict[str, Any]) -> None:
    before, after = deleted["before"], deleted["after"]
    assert any(_of_tenant(entry, GONE) for entries in before.values() for entry in entries)
    jobs_tables = {f"{region}:{Resource.JOBS_TABLE.local_name(region)}" for region in REGIONS}
    leftovers = [
        entry
        for where, entries in after.items()
        if where not in jobs_tables  # job records stay as the audit trail: ids, counts, keys, reasons
        for entry in entries
        if _of_tenant(entry, GONE)
    ]
    # Only the tombstones (one per directory that held the tenant) remain
    assert len(leftovers) == len(REGIONS) and all('"TOMBSTONE"' in entry for entry in leftovers)


def test_no_item_or_object_of_another_tenant_is_touched(deleted: dict[str, Any]) -> None:
    before, after = _belongs_to_others(deleted["before"]), _belongs_to_others(deleted["after"])
    jobs_tables = {f"{region}:{Resource.JOBS_TABLE.local_name(region)}" for region in REGIONS}
    for where in before:
        if where in jobs_tables:  # the deletion adds its own job record; nothing else changes there
            assert set(before[where]) <= set(after[where])
        else:
            assert after[where] == before[where], where
    for tenant_id in KEPT:
        assert any(f"tenants/{tenant_id}/" in entry for entries in after.values() for entry in entries)


def test_the_deletion_is_a_job_with_a_trace_and_counts(local_aws: LocalAws, deleted: dict[str, Any]) -> None:
    job = deleted["job"]
    assert (job["kind"], job["status"], job["tenant_id"]) == ("deletion", "SUCCEEDED", GONE)
    totals = job["details"]["totals"]
    assert totals["records"] == 2 * (25 + 27)  # home and the copy the migration left in the source region
    assert (
        totals["uploads_and_reports"] >= 3 and totals["export_files"] >= 2 and totals["snapshot_files"] >= 2
    )
    assert local_aws.tenantctl_json("job", job["job_id"])["status"] == "SUCCEEDED"
    spans = local_aws.tenantctl_json("trace", job["job_id"])["spans"]
    names = [span["name"] for span in spans]
    assert names.count("tenant.deletion") == 1 and names.count("tenant.deletion.region") == len(REGIONS)
    assert {span["trace_id"] for span in spans} == {job["trace_id"]}


def test_a_late_upload_is_rejected_with_the_reason(
    local_aws: LocalAws, deleted: dict[str, Any], tmp_path: Path
) -> None:
    bucket = local_aws.tenantctl_json("local", "info")["resources"]["ingest-bucket"]
    key = f"tenants/{GONE}/imports/contacts/late.csv"
    local_aws.aws("s3", "cp", str(sample_path("contacts.csv")), f"s3://{bucket}/{key}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [r for r in local_aws.tenantctl_json("rejects") if r["key"] == key]
        if found:
            assert f"tenant '{GONE}' was deleted at" in found[0]["reason"]
            assert deleted["job"]["job_id"] in found[0]["reason"]
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the late upload was not recorded as rejected")
    shown = local_aws.tenantctl("tenants", "show", GONE, check=False)
    assert shown.returncode == 1 and "was deleted at" in shown.stderr


def test_deletion_is_refused_while_the_tenant_migrates(local_aws: LocalAws) -> None:
    local_aws.tenantctl("tenants", "create", "busy")
    _client(local_aws, "dynamodb", REGIONS[0]).update_item(
        TableName=Resource.TENANTS_TABLE.local_name(REGIONS[0]),
        Key={"pk": {"S": "TENANT#busy"}, "sk": {"S": "TENANT"}},
        UpdateExpression="SET #s = :m",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":m": {"S": "migrating"}},
    )
    result = local_aws.tenantctl("tenants", "delete", "busy", "--yes", check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "tenant 'busy' is migrating" in result.stderr
    assert local_aws.tenantctl_json("tenants", "show", "busy")["status"] == "migrating"


def test_without_yes_and_without_a_terminal_nothing_is_deleted(local_aws: LocalAws) -> None:
    local_aws.tenantctl("tenants", "create", "careful")
    result = local_aws.tenantctl("tenants", "delete", "careful", check=False)
    assert result.returncode == 2 and "confirm with --yes" in result.stderr
    assert local_aws.tenantctl_json("tenants", "show", "careful")["status"] == "active"
