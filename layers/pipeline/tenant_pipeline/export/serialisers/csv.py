"""CSV (RFC 4180, UTF-8, CRLF): a header of the schema's columns in schema order, one row per record.

String cells pass through `escape_formula`; numbers are written as stored (`12.50`, never `1.25E+1`),
booleans as `true`/`false`, absent and null values as empty cells, lists and objects as JSON text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tenant_pipeline.export.serialisers.base import CHUNK_BYTES, dump_json
from tenant_pipeline.formula import escape_formula


def csv_cell(value: object) -> str:
    """The text of one CSV cell for a stored value."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return repr(value)
    return escape_formula(dump_json(value).decode("utf-8"))


class CsvSerialiser:
    """Writes the header row, then one row per record."""

    def __init__(self, columns: Sequence[str]) -> None:
        self._columns = tuple(columns)

    def chunks(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        columns = self._columns
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        cell = csv_cell
        for record in records:
            get = record.get
            writer.writerow([cell(get(column)) for column in columns])
            # Characters, not bytes: close enough to bound a chunk, and free to measure.
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")
