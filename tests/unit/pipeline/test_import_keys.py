"""Import keys: the one shape accepted, every escape refused with its reason."""

from __future__ import annotations

import pytest

from tenant_pipeline import topology
from tenant_pipeline.errors import KeyRejectedError
from tenant_pipeline.imports.keys import (
    attributable_tenant,
    claim_check_key,
    is_internal_key,
    job_id_for,
    parse_import_key,
    report_key,
)


def test_a_valid_key_is_split_into_tenant_entity_and_file() -> None:
    key = parse_import_key("tenants/acme/imports/contacts/my contacts (2025).csv")
    assert (key.tenant_id, key.entity, key.file_name) == ("acme", "contacts", "my contacts (2025).csv")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("tenants/acme/imports/contacts/../../globex/imports/contacts/x.csv", "'..'"),
        ("tenants/acme/imports/contacts/./x.csv", "'.' or '..'"),
        ("tenants/acme/imports/contacts/", "folder marker"),
        ("tenants/acme/imports/contacts//x.csv", "empty path segment"),
        ("tenants/acme/imports/contacts/globex/x.csv", "no sub-folders"),
        ("tenants/acme/imports/x.csv", "no sub-folders"),
        ("tenants/acme/imports/Contacts/x.csv", "unknown entity"),
        ("tenants/acme/imports/contacts/x%2Fy.csv", "file name"),
        ("tenants/acme/imports/contacts/x\\y.csv", "file name"),
        ("tenants/acme/imports/contacts/.hidden.csv", "file name"),
        ("tenants/acme/imports/contacts/c\u043entacts.csv", "non-ASCII"),  # Cyrillic o
        ("tenants/acme/imports/contacts/a\x00.csv", "control characters"),
        ("tenants/acme/imports/contacts/" + "a" * 1100 + ".csv", "longer than"),
    ],
)
def test_a_hostile_key_is_refused_with_its_reason_and_kept_on_its_tenant(key: str, reason: str) -> None:
    with pytest.raises(KeyRejectedError) as caught:
        parse_import_key(key)
    assert reason in str(caught.value)
    assert caught.value.tenant_id == "acme"


@pytest.mark.parametrize(
    "key",
    [
        "tenants/\u0430cme/imports/contacts/x.csv",  # Cyrillic a: a look-alike tenant id
        "tenants/ACME/imports/contacts/x.csv",
        "tenants/a/imports/contacts/x.csv",
        "tenants/-acme/imports/contacts/x.csv",
        "tenants/acme/exports/contacts/x.csv",
        "other/acme/imports/contacts/x.csv",
        "tenants/acme",
        "",
    ],
)
def test_a_key_without_a_valid_tenant_is_not_attributable(key: str) -> None:
    assert attributable_tenant(key) is None
    with pytest.raises(KeyRejectedError) as caught:
        parse_import_key(key)
    assert caught.value.tenant_id is None


def test_the_pipelines_own_objects_never_start_an_import() -> None:
    assert is_internal_key(report_key("acme", "imp-1"))
    assert is_internal_key(claim_check_key("acme", "imp-1", 7))
    assert claim_check_key("acme", "imp-1", 7) == "batches/acme/imp-1/000007.json"
    assert report_key("acme", "imp-1") == "reports/acme/imp-1/errors.csv"
    assert not is_internal_key("tenants/acme/imports/contacts/reports.csv")
    assert not is_internal_key("tenants/acme/imports/batches/orders.csv")


def test_no_object_the_pipeline_writes_matches_the_ingest_notification() -> None:
    # Given the keys the validator writes for a job: its error report and its claim-check batches
    written = [report_key("acme", "imp-1"), *(claim_check_key("acme", "imp-1", n) for n in (1, 999_999))]
    # Then S3 sends no notification for any of them, while an upload does notify
    assert not any(topology.INGEST_NOTIFICATION.matches(key) for key in written)
    assert topology.INGEST_NOTIFICATION.matches("tenants/acme/imports/contacts/contacts.csv")
    # And the claim-check batches are the objects the bucket expires
    assert all(
        key.startswith(rule.prefix) for rule in topology.INGEST_EXPIRY for key in written if "batches" in key
    )


def test_job_id_is_deterministic_per_object_version() -> None:
    first = job_id_for("bucket", "tenants/acme/imports/contacts/a.csv", "etag-1")
    assert first == job_id_for("bucket", "tenants/acme/imports/contacts/a.csv", "etag-1")
    assert first != job_id_for("bucket", "tenants/acme/imports/contacts/a.csv", "etag-2")
    assert first != job_id_for("other", "tenants/acme/imports/contacts/a.csv", "etag-1")
    assert first.startswith("imp-") and len(first) == 32
