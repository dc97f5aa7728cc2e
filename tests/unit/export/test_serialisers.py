from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.export.serialisers import CHUNK_BYTES, serialiser_for
from tenant_pipeline.export.serialisers.base import UnserialisableValueError
from tenant_pipeline.export.serialisers.csv import csv_cell
from tenant_pipeline.formula import unescape_formula

COLUMNS = ("id", "name", "email", "amount", "active", "tags")

ADVERSARIAL = [
    'He said "hi", then left',
    "two\nlines",
    "cr\r\nlf",
    "emoji 🦄👩‍👩‍👧",
    "\u202eRTL override\u202c and \u200fmark",
    "=cmd|' /C calc'!A0",
    "+44 20 7946 0000",
    "-1",
    "@handle",
    "\tleading tab",
    "'=already quoted",
    ",;|\\",
    "   spaced   ",
    "\x00nul",
]


def serialise(
    fmt: ExportFormat, records: Iterable[Mapping[str, Any]], columns: tuple[str, ...] = COLUMNS
) -> bytes:
    return b"".join(serialiser_for(fmt, columns).chunks(records))


def records() -> list[dict[str, Any]]:
    return [
        {
            "id": f"r{i}",
            "name": text,
            "email": f"user{i}@example.com",
            "amount": Decimal("-12.50") if i % 2 else Decimal("1E+2"),
            "active": bool(i % 2),
            "tags": ["a", "b"],
            "pk": "acme#contacts#0",  # a store attribute that must not leak into exports
        }
        for i, text in enumerate(ADVERSARIAL)
    ]


def test_csv_header_follows_schema_order_and_store_attributes_are_dropped() -> None:
    rows = list(csv.reader(io.StringIO(serialise(ExportFormat.CSV, records()).decode("utf-8"), newline="")))
    assert rows[0] == list(COLUMNS)
    assert all(len(row) == len(COLUMNS) for row in rows)
    assert "acme#contacts#0" not in {cell for row in rows for cell in row}


def test_csv_round_trips_adversarial_strings_exactly() -> None:
    raw = serialise(ExportFormat.CSV, records()).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [unescape_formula(row["name"]) for row in rows] == ADVERSARIAL


def test_csv_escapes_formula_cells_but_not_numbers() -> None:
    rows = list(csv.DictReader(io.StringIO(serialise(ExportFormat.CSV, records()).decode(), newline="")))
    names = [row["name"] for row in rows]
    assert names[5] == "'=cmd|' /C calc'!A0"
    assert names[6] == "'+44 20 7946 0000"
    assert names[7] == "'-1"
    assert names[8] == "'@handle"
    assert names[9] == "'\tleading tab"
    assert names[10] == "''=already quoted"
    # Typed numbers are numbers, not text a spreadsheet would evaluate as a formula.
    assert rows[1]["amount"] == "-12.50"
    assert rows[0]["amount"] == "100"


def test_csv_lines_end_with_crlf() -> None:
    raw = serialise(ExportFormat.CSV, [{"id": "1", "name": "x"}], ("id", "name"))
    assert raw == b"id,name\r\n1,x\r\n"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (Decimal("0.10"), "0.10"),
        (Decimal("1E+3"), "1000"),
        (7, "7"),
        ({"b": Decimal("1.5")}, '{"b":1.5}'),
        ("=x", "'=x"),
    ],
)
def test_csv_cells(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_jsonl_round_trips_values_and_key_order() -> None:
    raw = serialise(ExportFormat.JSONL, records())
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == len(ADVERSARIAL)
    parsed = [json.loads(line, parse_float=Decimal) for line in lines]
    assert [item["name"] for item in parsed] == ADVERSARIAL  # no formula escaping outside CSV
    assert list(parsed[0]) == list(COLUMNS)
    assert parsed[1]["amount"] == Decimal("-12.50")
    assert raw.count(b"12.50") == len(ADVERSARIAL) // 2  # written verbatim, not as a float


def test_json_array_is_one_valid_document() -> None:
    parsed = json.loads(serialise(ExportFormat.JSON, records()), parse_float=Decimal)
    assert [item["name"] for item in parsed] == ADVERSARIAL
    assert parsed[0]["tags"] == ["a", "b"]


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_empty_exports_are_valid_files(fmt: ExportFormat) -> None:
    raw = serialise(fmt, [])
    expected = {
        ExportFormat.CSV: b"id,name,email,amount,active,tags\r\n",
        ExportFormat.JSONL: b"",
        ExportFormat.JSON: b"[]\n",
    }
    assert raw == expected[fmt]


def test_absent_columns_stay_absent_in_json_and_empty_in_csv() -> None:
    record = {"id": "1"}
    assert json.loads(serialise(ExportFormat.JSONL, [record])) == {"id": "1"}
    assert serialise(ExportFormat.CSV, [record]).endswith(b"1,,,,,\r\n")


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_chunks_stay_bounded_however_many_records(fmt: ExportFormat) -> None:
    many = ({"id": str(i), "name": "x" * 100} for i in range(20_000))
    sizes = [len(chunk) for chunk in serialiser_for(fmt, ("id", "name")).chunks(many)]
    assert len(sizes) > 5
    assert max(sizes) < CHUNK_BYTES + 4096


def test_unserialisable_values_are_named() -> None:
    with pytest.raises(UnserialisableValueError, match="object"):
        serialise(ExportFormat.JSONL, [{"id": object()}], ("id",))
