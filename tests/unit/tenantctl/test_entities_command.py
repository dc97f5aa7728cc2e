"""`tenantctl entities [show E]`: the columns each entity expects, read from the shipped schemas."""

from __future__ import annotations

import json

import pytest

from tenant_pipeline.entities import EntitySchema, load_entity
from tenantctl.cli import main
from tenantctl.entity_columns import columns


def test_list_names_every_shipped_entity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["entities", "--json"]) == 0
    listed = {entity["entity"]: entity for entity in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"contacts", "orders"}
    assert listed["orders"]["primary_key"] == "id"


def test_show_gives_columns_in_schema_order_with_their_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["entities", "show", "orders", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    by_name = {column["name"]: column for column in shown["columns"]}
    assert [column["name"] for column in shown["columns"]] == list(load_entity("orders").columns)
    assert by_name["amount"]["type"] == "number"
    assert by_name["amount"]["constraints"] == {"minimum": 0, "multipleOf": 0.01}
    assert by_name["status"]["constraints"]["enum"][0] == "pending"
    assert all(column["required"] for column in shown["columns"])
    assert by_name["currency"]["accepted_names"] == ["currency", "Currency Code"]


def test_show_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["entities", "show", "contacts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:5] == ["#", "COLUMN", "TYPE", "REQUIRED", "CONSTRAINTS"]
    age = next(line for line in lines if " age " in line)
    assert "integer" in age and " no " in age and ">= 0; <= 150" in age


def test_an_unknown_entity_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["entities", "show", "invoices"]) == 2
    err = capsys.readouterr().err
    assert err == "tenantctl: error: unknown entity type 'invoices' (known: contacts, orders)\n"


def test_aliases_in_a_schema_show_as_accepted_names() -> None:
    schema = EntitySchema.from_dict(
        "people",
        {
            "type": "object",
            "x-primary-key": "id",
            "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "email": {"type": ["string", "null"], "x-aliases": ["Email Address", "E-mail"]},
            },
        },
    )
    id_column, email = columns(schema)
    assert id_column.accepted_names == ("id",) and id_column.primary_key
    assert email.accepted_names == ("email", "Email Address", "E-mail")
    assert email.type == "string or null" and not email.required
