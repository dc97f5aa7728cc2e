"""A header's names: aliases and a tenant's mapping accepted; every other mistake named with a hint."""

from __future__ import annotations

import pytest

from tenant_pipeline.entities import EntitySchema, InvalidEntitySchemaError, load_entity
from tenant_pipeline.formats import FileRejectedError, MissingColumnError, UnknownColumnError
from tenant_pipeline.formats.errors import HeaderError, WrongDelimiterError
from tenant_pipeline.validation.header import match_header

CONTACTS = load_entity("contacts")


def test_aliases_match_case_and_space_insensitively() -> None:
    matched = match_header(["Contact ID", " e-MAIL", "full name", "CREATED AT", "Notes"], CONTACTS)
    assert matched.columns == ("id", "email", "name", "created_at", "notes")
    assert matched.renamed == {
        "Contact ID": "id",
        " e-MAIL": "email",
        "full name": "name",
        "CREATED AT": "created_at",
        "Notes": "notes",
    }


def test_a_tenants_mapping_adds_its_own_names() -> None:
    matched = match_header(["Kundennummer", "Mail", "Name", "Angelegt"], CONTACTS, {
        "Kundennummer": "id", "angelegt": "created_at"})  # fmt: skip
    assert matched.columns == ("id", "email", "name", "created_at")


@pytest.mark.parametrize(
    ("header", "error", "reason"),
    [
        (["id;email;name;created_at"], WrongDelimiterError, "looks separated by semicolons (;)"),
        (["id\temail\tname\tcreated_at"], WrongDelimiterError, "looks separated by tabs"),
        (["id|email|name", "created_at"], WrongDelimiterError, "looks separated by pipes"),
        (["id", "emial", "name", "created_at"], UnknownColumnError, "'emial' (did you mean 'email'?)"),
        (["id", "email", "nmae", "created", "shoe size"], UnknownColumnError, "'shoe size' (known: id,"),
        (["id", "name", "created_at"], MissingColumnError, "required column 'email' missing"),
        (["id", "notes"], MissingColumnError, "required columns 'email', 'name', 'created_at' missing"),
        (["id", "email", "E-mail", "name", "created_at"], HeaderError, "'email' and 'E-mail' both name"),
    ],
)
def test_header_mistakes_say_what_to_fix(
    header: list[str], error: type[FileRejectedError], reason: str
) -> None:
    with pytest.raises(error) as raised:
        match_header(header, CONTACTS)
    assert reason in str(raised.value)


def test_an_alias_may_not_name_two_columns() -> None:
    schema = {
        "type": "object",
        "x-primary-key": "id",
        "required": ["id"],
        "properties": {"id": {"type": "string", "x-aliases": ["Ref"]}, "ref": {"type": "string"}},
    }
    with pytest.raises(InvalidEntitySchemaError, match="'ref' is accepted for both 'id' and 'ref'"):
        EntitySchema.from_dict("things", schema)
