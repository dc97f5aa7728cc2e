"""Export and migration end to end on `tenantctl local up`: `tenantctl export/migrate ... --json`."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tenantctl.commands.demo import sample_path
from tests.e2e.conftest import REGION, LocalAws

pytestmark = pytest.mark.e2e

OTHER_REGION = "eu-west-1"
CONTACTS = 25
ORDERS_STORED = 27
PHASES = ("validate", "freeze", "snapshot", "transfer", "load", "verify", "cutover")


def _import(local_aws: LocalAws, tenant_id: str, entity: str, file_name: str) -> dict[str, Any]:
    job: dict[str, Any] = local_aws.tenantctl_json(
        "import", tenant_id, entity, str(sample_path(file_name)), "--wait"
    )
    assert job["status"] in ("SUCCEEDED", "PARTIAL"), job
    return job


def _csv_records(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as stream:
        return sum(1 for _ in csv.reader(stream)) - 1


def test_export_json_downloads_files_that_match_the_manifest_and_the_import(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # Given a tenant whose contacts and orders were imported
    local_aws.tenantctl("tenants", "create", "vandelay")
    _import(local_aws, "vandelay", "contacts", "contacts.csv")
    orders = _import(local_aws, "vandelay", "orders", "orders.csv")
    assert orders["stored"] == ORDERS_STORED

    # When the tenant's data is exported as CSV
    result = local_aws.tenantctl_json(
        "export", "vandelay", "--entities", "contacts,orders", "--format", "csv", "--out", str(tmp_path)
    )

    # Then both files and the manifest are in the folder, each file as the manifest describes it
    assert result["status"] == "SUCCEEDED"
    assert result["tenant_id"] == "vandelay"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["contacts.csv", "manifest.json", "orders.csv"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["job_id"] == result["job_id"]
    for entry in manifest["files"]:
        body = (tmp_path / entry["file_name"]).read_bytes()
        assert len(body) == entry["bytes"]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    # and each file holds exactly the records the imports stored
    counts = {entry["entity"]: entry["record_count"] for entry in manifest["files"]}
    assert counts == {"contacts": CONTACTS, "orders": ORDERS_STORED}
    assert _csv_records(tmp_path / "contacts.csv") == CONTACTS
    assert _csv_records(tmp_path / "orders.csv") == ORDERS_STORED
    assert result["total_records"] == CONTACTS + ORDERS_STORED
    assert all(file["verified"] for file in result["files"])

    # and the export is a job of the tenant, in the trace the command started
    job = local_aws.tenantctl_json("job", result["job_id"])
    assert (job["kind"], job["status"], job["tenant_id"]) == ("export", "SUCCEEDED", "vandelay")
    assert job["trace_id"] == result["trace_id"]


def test_migrate_wait_json_moves_the_tenant_and_its_data_to_the_other_region(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # Given a tenant with imported orders in the first region
    local_aws.tenantctl("tenants", "create", "kramerica", "--region", REGION)
    _import(local_aws, "kramerica", "orders", "orders.csv")

    # When it migrates to the other region and the command waits
    result = local_aws.tenantctl_json("migrate", "kramerica", "--to", OTHER_REGION, "--wait")

    # Then the workflow ran every phase, verified the copy and cut over
    assert result["status"] == "SUCCEEDED", result
    assert (result["source_region"], result["target_region"]) == (REGION, OTHER_REGION)
    assert result["record_count"] == result["target_record_count"] == ORDERS_STORED
    assert result["checksum_match"] is True
    assert result["bytes_transferred"] > 0
    assert result["execution_arn"].startswith(f"arn:aws:states:{REGION}:")
    assert len(result["trace_id"]) == 32
    assert list(result["phases"]) == list(PHASES)
    assert all(phase["status"] == "done" for phase in result["phases"].values())

    # and the directory reports the new home once, whichever region is asked
    for region in (REGION, OTHER_REGION):
        shown = local_aws.tenantctl_json("--region", region, "tenants", "show", "kramerica")
        assert (shown["home_region"], shown["status"]) == (OTHER_REGION, "active")
    listed = [t for t in local_aws.tenantctl_json("tenants", "list") if t["tenant_id"] == "kramerica"]
    assert [(t["home_region"], t["status"]) for t in listed] == [(OTHER_REGION, "active")]
    migrations = local_aws.tenantctl_json("migrations", "kramerica")
    assert [(m["migration_id"], m["status"]) for m in migrations] == [(result["migration_id"], "SUCCEEDED")]

    # and its data is now read from the target region: an export runs there and finds every order
    exported = local_aws.tenantctl_json(
        "export", "kramerica", "--entities", "orders", "--format", "jsonl", "--out", str(tmp_path)
    )
    assert exported["status"] == "SUCCEEDED"
    assert exported["total_records"] == ORDERS_STORED
    job = local_aws.tenantctl_json("--region", OTHER_REGION, "job", exported["job_id"])
    assert (job["kind"], job["status"]) == ("export", "SUCCEEDED")
    lines = (tmp_path / "orders.jsonl").read_bytes().splitlines()
    assert len(lines) == ORDERS_STORED
