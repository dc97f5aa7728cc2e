"""Deterministic `contacts` files for the benchmarks: the same bytes for every side of a comparison.

Rows follow the shipped `contacts` schema. Every `INVALID_EVERY`-th row is invalid in a way any
importer catches (an email without `@`, an age that is not a number), so each side must reject the
same rows; there are no duplicate ids, because a seed-style importer would silently overwrite them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

COLUMNS = ("id", "email", "name", "age", "created_at", "country", "notes")
INVALID_EVERY = 50
_COUNTRIES = ("US", "DE", "FR", "GB", "JP", "BR", "IN", "CA")


def is_invalid(index: int) -> bool:
    return index % INVALID_EVERY == INVALID_EVERY - 1


def contact(index: int) -> dict[str, Any]:
    """Row `index` as CSV cells (strings; empty string for a missing optional value)."""
    row = {
        "id": f"c{index:09d}",
        "email": f"  User.{index}@Example.com ",
        "name": f"Contact Number {index}",
        "age": str(18 + index % 70) if index % 7 else "",
        "created_at": (
            f"2024-{1 + index % 12:02d}-{1 + index % 28:02d}T{index % 24:02d}:{index % 60:02d}:07+02:00"
        ),
        "country": _COUNTRIES[index % len(_COUNTRIES)] if index % 5 else "",
        "notes": 'likes long walks, "quoted" words' if index % 11 == 0 else "",
    }
    if is_invalid(index):
        if (index // INVALID_EVERY) % 2:
            row["email"] = f"user{index}.example.com"
        else:
            row["age"] = "forty"
    return row


def rows(count: int) -> Iterator[dict[str, Any]]:
    return (contact(index) for index in range(count))


def expected_counts(count: int) -> tuple[int, int]:
    """(valid, invalid) rows in a file of `count` rows."""
    invalid = sum(1 for index in range(count) if is_invalid(index))
    return count - invalid, invalid


def write_csv(path: Path, count: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows(count))
    return path


def write_jsonl(path: Path, count: int) -> Path:
    """JSON Lines with typed values (age a number), omitting missing optional fields."""
    with path.open("wb") as handle:
        for row in rows(count):
            record: dict[str, Any] = {key: value for key, value in row.items() if value != ""}
            if "age" in record and record["age"].isdigit():
                record["age"] = int(record["age"])
            handle.write(orjson.dumps(record) + b"\n")
    return path


def csv_of_size(path: Path, target_bytes: int) -> tuple[Path, int]:
    """A CSV of at least `target_bytes`, written in chunks; returns the path and its row count."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(COLUMNS)
    written, index = 0, 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(header.getvalue())
        while written < target_bytes:
            chunk = io.StringIO()
            chunk_writer = csv.DictWriter(chunk, fieldnames=COLUMNS, lineterminator="\r\n")
            chunk_writer.writerows(contact(i) for i in range(index, index + 10_000))
            index += 10_000
            text = chunk.getvalue()
            handle.write(text)
            written += len(text.encode())
    return path, index
