"""A tenant's own header names on `tenantctl local up`: set once, used by its imports, recorded by the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import LocalAws

pytestmark = pytest.mark.e2e


def test_a_tenants_mapping_imports_its_own_headers(local_aws: LocalAws, tmp_path: Path) -> None:
    # Given a tenant whose CRM names two columns its own way, mapped once
    local_aws.tenantctl("tenants", "create", "mapper")
    local_aws.tenantctl(
        "tenants", "set-mapping", "mapper", "contacts", "Kundennummer=id", "Angelegt=created_at"
    )
    shown = local_aws.tenantctl_json("tenants", "show", "mapper")
    assert shown["column_mappings"] == {"contacts": {"Kundennummer": "id", "Angelegt": "created_at"}}
    # When a file with those names and a schema alias ("E-mail") is imported
    path = tmp_path / "crm.csv"
    path.write_text("Kundennummer,E-mail,Name,Angelegt\nk-1,a@example.com,Ann,2024-01-01T00:00:00Z\n")
    job = local_aws.tenantctl_json("import", "mapper", "contacts", str(path), "--wait")
    # Then it imports, and the job records which names it mapped
    assert (job["status"], job["stored"]) == ("SUCCEEDED", 1)
    mapped = local_aws.tenantctl_json("job", job["job_id"])["details"]["column_mapping"]
    assert mapped == {"Kundennummer": "id", "E-mail": "email", "Name": "name", "Angelegt": "created_at"}


def test_a_mapping_to_an_unknown_column_is_refused(local_aws: LocalAws) -> None:
    local_aws.tenantctl("tenants", "create", "mapper-bad")
    refused = local_aws.tenantctl(
        "tenants", "set-mapping", "mapper-bad", "contacts", "Mail=e_mail", check=False
    )
    assert refused.returncode == 2
    assert refused.stderr == (
        "tenantctl: error: 'Mail' maps to 'e_mail', which is not a contacts column "
        "(known: id, email, name, age, created_at, country, notes)\n"
    )


def test_a_misspelt_header_fails_with_a_hint_in_the_report(local_aws: LocalAws, tmp_path: Path) -> None:
    # Given a file whose header misspells a column
    local_aws.tenantctl("tenants", "create", "typo")
    path = tmp_path / "typo.csv"
    path.write_text("id,emial,name,created_at\nt-1,a@example.com,Ann,2024-01-01T00:00:00Z\n")
    # When it is imported
    imported = local_aws.tenantctl("import", "typo", "contacts", str(path), "--wait", check=False)
    # Then the command fails in one line naming the column it probably means, and so does the report
    hint = "'emial' (did you mean 'email'?)"
    assert imported.returncode == 1 and imported.stderr.count("\n") == 1 and hint in imported.stderr
    (job,) = local_aws.tenantctl_json("jobs", "typo")
    assert (job["status"], job["stored"]) == ("FAILED_VALIDATION", 0)
    (row,) = local_aws.tenantctl_json("report", job["job_id"])["rows"]
    assert hint in row["reason"]
