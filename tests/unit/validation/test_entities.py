from __future__ import annotations

import pytest

from tenant_pipeline.entities import UnknownEntityError, entity_names, load_entity


def test_shipped_entities() -> None:
    assert {"contacts", "orders"} <= set(entity_names())
    contacts = load_entity("contacts")
    assert contacts.primary_key == "id"
    assert contacts.columns == ("id", "email", "name", "age", "created_at", "country", "notes")
    assert contacts.required == {"id", "email", "name", "created_at"}
    assert contacts.raw["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    orders = load_entity("orders")
    assert orders.required == set(orders.columns)
    assert orders.raw["properties"]["status"]["enum"] == [
        "pending",
        "paid",
        "shipped",
        "cancelled",
        "refunded",
    ]


@pytest.mark.parametrize("name", ["invoices", "../contacts", "Contacts", "", "contacts.json"])
def test_unknown_entities(name: str) -> None:
    with pytest.raises(UnknownEntityError, match="unknown entity type"):
        load_entity(name)
