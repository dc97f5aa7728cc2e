"""The folders an erasure empties hold only the tenant's objects."""

from __future__ import annotations

import pytest

from tenant_pipeline.erasure import object_prefixes
from tenant_pipeline.errors import InvalidTenantIdError
from tenant_pipeline.export.keys import export_key
from tenant_pipeline.imports.keys import claim_check_key, report_key
from tenant_pipeline.migration.snapshot_store import snapshot_prefix


def test_every_key_layout_of_the_tenant_is_under_one_of_its_prefixes() -> None:
    prefixes = object_prefixes("acme")
    assert all(prefix.endswith("/") for role in prefixes.values() for prefix in role)
    assert any(report_key("acme", "imp-1").startswith(p) for p in prefixes["ingest"])
    assert any(claim_check_key("acme", "imp-1", 3).startswith(p) for p in prefixes["ingest"])
    assert any("tenants/acme/imports/contacts/a.csv".startswith(p) for p in prefixes["ingest"])
    assert export_key("acme", "export-1", "contacts.csv").startswith(prefixes["export"][0])
    assert snapshot_prefix("acme", "m-1").startswith(prefixes["snapshot"][0])


def test_no_prefix_reaches_a_tenant_whose_id_extends_it() -> None:
    neighbour = [
        report_key("acme-corp", "imp-1"),
        "tenants/acme-corp/imports/contacts/a.csv",
        export_key("acme-corp", "export-1", "contacts.csv"),
        snapshot_prefix("acme-corp", "m-1"),
    ]
    prefixes = [p for role in object_prefixes("acme").values() for p in role]
    assert not [key for key in neighbour for prefix in prefixes if key.startswith(prefix)]


def test_a_malformed_tenant_id_erases_nothing() -> None:
    with pytest.raises(InvalidTenantIdError):
        object_prefixes("")
