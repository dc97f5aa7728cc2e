"""Import file -> validated rows -> tenant store -> export: every field comes back exactly."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from typing import Any

import pytest

from tenant_pipeline.entities import load_entity
from tenant_pipeline.export import ExportManifest, unescape_formula
from tenant_pipeline.formats import FileFormat
from tenant_pipeline.validation import InvalidRow, ValidRow, validate_stream
from tests.integration.export.conftest import ExportWorld, plenty_of_time

ADVERSARIAL_NAMES = [
    'Ada "The Countess" Lovelace',
    "O'Brien, Jr.",
    "Zoë 🦄 Müller",
    "\u202eevil.exe\u202c Smith",
    "\u05e9\u05dc\u05d5\u05dd \u200f\u05e2\u05d5\u05dc\u05dd",  # Hebrew, with a right-to-left mark
    '=HYPERLINK("http://evil.example","click")',
    "+44 20 7946 0000",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "'=already quoted",
    "Back\\slash; semi;colon, comma",
    "中文名字",
]
ADVERSARIAL_NOTES = [
    "line one\nline two",
    "crlf\r\ninside",
    'quote " and ""double""',
    "tab\tinside",
    "",
    "ok",
]


def contacts_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "email", "name", "age", "created_at", "country", "notes"])
    for i, name in enumerate(ADVERSARIAL_NAMES):
        notes = ADVERSARIAL_NOTES[i % len(ADVERSARIAL_NOTES)]
        age = "" if i % 4 == 0 else str(20 + i)
        writer.writerow(
            [f"c{i}", f"User{i}@Example.COM", name, age, "2024-03-05T10:11:12+01:00", "GB", notes]
        )
    writer.writerow(["bad", "not-an-email", "x", "-5", "yesterday", "gb", ""])  # invalid: must not export
    return out.getvalue().encode("utf-8")


def orders_jsonl() -> bytes:
    amounts = ["12.50", "0.01", "1000", "999999.99", "3.10"]
    lines = [
        # Amounts as JSON number literals, written verbatim so no float rounding happens on the way in.
        f'{{"id": "o{i}", "contact_id": "c{i}", "amount": {amount}, "currency": "EUR", '
        f'"status": "paid", "placed_at": "2024-01-01T00:00:00Z"}}'
        for i, amount in enumerate(amounts)
    ]
    return ("\n".join(lines) + "\n").encode()


def import_rows(world: ExportWorld, entity: str, file_name: str, raw: bytes) -> list[dict[str, Any]]:
    """Validate the file as the import does and store its valid rows as the loader does."""
    outcomes = list(validate_stream(io.BytesIO(raw), FileFormat.from_key(file_name), load_entity(entity)))
    valid = [outcome.record for outcome in outcomes if isinstance(outcome, ValidRow)]
    assert valid, [outcome for outcome in outcomes if isinstance(outcome, InvalidRow)]
    world.store_records("acme", entity, valid)
    return valid


def export_file(world: ExportWorld, entity: str, fmt: str, *, gzipped: bool = False) -> bytes:
    outcome = world.runner().handle(
        {"tenant_id": "acme", "entities": [entity], "format": fmt, "gzip": gzipped}, plenty_of_time
    )
    assert outcome.manifest_key is not None
    manifest = ExportManifest.from_json(world.read(outcome.manifest_key))
    raw = world.read(manifest.file(entity).key)
    return gzip.decompress(raw) if gzipped else raw


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records}


@pytest.mark.parametrize(("fmt", "gzipped"), [("jsonl", False), ("json", True)])
def test_json_exports_equal_the_valid_imported_rows_field_by_field(
    world: ExportWorld, fmt: str, gzipped: bool
) -> None:
    imported = import_rows(world, "contacts", "contacts.csv", contacts_csv())
    assert len(imported) == len(ADVERSARIAL_NAMES)
    raw = export_file(world, "contacts", fmt, gzipped=gzipped)
    exported = [json.loads(line) for line in raw.splitlines()] if fmt == "jsonl" else json.loads(raw)
    assert by_id(exported) == by_id(imported)
    assert "bad" not in by_id(exported)


def test_csv_export_re_imports_to_the_same_rows(world: ExportWorld) -> None:
    imported = import_rows(world, "contacts", "contacts.csv", contacts_csv())
    raw = export_file(world, "contacts", "csv")

    # Given the exported CSV, with the formula escape undone cell by cell
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0] == list(load_entity("contacts").columns)
    unescaped = io.StringIO()
    csv.writer(unescaped, lineterminator="\r\n").writerows(
        [rows[0], *([unescape_formula(cell) for cell in row] for row in rows[1:])]
    )

    # When it is validated again as an import
    again = [
        outcome.record
        for outcome in validate_stream(
            io.BytesIO(unescaped.getvalue().encode()), FileFormat.from_key("x.csv"), load_entity("contacts")
        )
        if isinstance(outcome, ValidRow)
    ]

    # Then every record is the one first imported, field by field
    assert by_id(again) == by_id(imported)
    assert {row[2] for row in rows[1:]} >= {'\'=HYPERLINK("http://evil.example","click")', "'@SUM(A1:A9)"}


def test_amounts_come_back_as_the_same_decimals(world: ExportWorld) -> None:
    imported = import_rows(world, "orders", "orders.jsonl", orders_jsonl())
    exported = [
        json.loads(line, parse_float=Decimal) for line in export_file(world, "orders", "jsonl").splitlines()
    ]
    assert {row["id"]: Decimal(str(row["amount"])) for row in exported} == {
        row["id"]: Decimal(str(row["amount"])) for row in imported
    }
    assert by_id(exported).keys() == by_id(imported).keys()
    rows = list(csv.DictReader(io.StringIO(export_file(world, "orders", "csv").decode(), newline="")))
    assert {row["id"]: Decimal(row["amount"]) for row in rows} == {
        row["id"]: Decimal(str(row["amount"])) for row in imported
    }
