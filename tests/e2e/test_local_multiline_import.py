"""A CRM export with multi-line notes, through the local AWS: the table holds exactly its valid rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import boto3
import pytest

from tenant_pipeline.store.tenant_data import TenantDataStore
from tests.e2e.conftest import BATCH_ROWS, REGION, LocalAws

pytestmark = pytest.mark.e2e

ROWS = 47
BAD_EMAIL_ROWS = (9, 30)
NOTES = ["plain", "first line\nsecond line", "first\r\nsecond\r\n\r\nafter a blank line", 'says "hi", twice']


def _crm_export() -> tuple[str, dict[str, dict[str, Any]]]:
    """The file (BOM, CRLF, multi-line notes, a blank line) and the records it should store, by id."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "email", "name", "created_at", "notes"])
    expected = {}
    for n in range(ROWS):
        email = "not-an-email" if n in BAD_EMAIL_ROWS else f"Person.{n}@Example.com"
        notes = NOTES[n % len(NOTES)]
        writer.writerow([f"crm-{n}", email, f"Person {n}", "2024-05-06T07:08:09Z", notes])
        if n == 20:
            out.write("\r\n")
        if n not in BAD_EMAIL_ROWS:
            expected[f"crm-{n}"] = {"email": email.lower(), "notes": notes}
    return "\ufeff" + out.getvalue(), expected


def test_every_valid_row_of_a_multiline_crm_export_is_stored(local_aws: LocalAws, tmp_path: Path) -> None:
    # Given a tenant and a CRM export whose notes hold line breaks of every kind
    local_aws.tenantctl("tenants", "create", "crm-co")
    text, expected = _crm_export()
    records = [row for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")) if row][1:]
    assert len(records) == ROWS and text.count("\n") > ROWS + 10
    path = tmp_path / "contacts.csv"
    path.write_text(text, encoding="utf-8", newline="")
    info = local_aws.tenantctl_json("local", "info")
    # When it is copied into the tenant's prefix with the AWS CLI and the job finishes
    key = "tenants/crm-co/imports/contacts/crm.csv"
    local_aws.aws("s3", "cp", str(path), f"s3://{info['resources']['ingest-bucket']}/{key}")
    job = local_aws.wait_for_finished_job("crm-co", "contacts")
    # Then every record is counted, in several batches, and the invalid ones are reported
    assert job["status"] == "PARTIAL", job
    assert (job["total_rows"], job["stored"], job["invalid"]) == (ROWS, ROWS - 2, 2)
    assert job["batches_total"] == -(-(ROWS - 2) // BATCH_ROWS)
    report = local_aws.tenantctl_json("report", job["job_id"])
    assert sorted({int(row["line"]) for row in report["rows"]}) == [_line_of(text, n) for n in BAD_EMAIL_ROWS]
    # and the table holds exactly the valid rows, multi-line notes intact
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=local_aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    store = TenantDataStore(info["resources"]["tenant-data-table"], dynamodb)
    shard_count = local_aws.tenantctl_json("tenants", "show", "crm-co")["shard_count"]
    records = store.query_entity("crm-co", "contacts", shard_count)
    stored = {r["id"]: {"email": r["email"], "notes": r["notes"]} for r in records}
    assert stored == expected


def _line_of(text: str, n: int) -> int:
    """The file line on which data row `n` starts, as the csv module counts lines."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    end = 0
    for cells in reader:
        start, end = end + 1, reader.line_num
        if cells and cells[0] == f"crm-{n}":
            return start
    raise AssertionError(f"row {n} not found")
