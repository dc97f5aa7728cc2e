"""Streaming CSV reader (RFC 4180): header first, then batches of rows with line numbers.

Parsing is the C `csv` module's (strict mode) fed by `TextLines`, so quoted commas, quotes and
newlines, CRLF and a UTF-8 BOM behave as in Python's reference reader. Rows are pulled in batches
and line numbers are derived per batch: when a batch consumed exactly one physical line per
record they are consecutive, otherwise each record's extra lines are its cells' line breaks.

Resynchronisation: a malformed record confined to one physical line (e.g. `"a"b`) becomes a row
error and reading continues on the next line. A record that fails after spanning several lines
(an unbalanced quote, or a quoted field over the size limit) leaves no trustworthy place to
resume, so the file is rejected, naming the line where that record starts.
"""

from __future__ import annotations

import csv as _csv
from bisect import bisect_right
from collections.abc import Iterator
from itertools import islice

from tenant_pipeline.formats.batch import RowBatch, RowProblem, excerpt
from tenant_pipeline.formats.errors import EmptyFileError, HeaderError, MalformedCsvError
from tenant_pipeline.formats.limits import ReadLimits
from tenant_pipeline.formats.lines import TextLines

ROW = "(row)"
"""Field name used for problems that concern a whole row rather than one cell."""


def _line_breaks(cells: list[str]) -> int:
    """Physical line breaks inside a parsed record's cells (`\\r\\n` counts once)."""
    n = 0
    for cell in cells:
        if "\n" in cell or "\r" in cell:
            n += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
    return n


class CsvReader:
    """Reads a header, then yields `RowBatch`es of cell lists (every row has the header's width)."""

    def __init__(self, chunks: Iterator[bytes], limits: ReadLimits) -> None:
        self._limits = limits
        self._lines = TextLines(chunks, limits)
        self._reader = _csv.reader(self._lines, strict=True)
        self._consumed = 0  # physical lines consumed by complete records (or skipped errors)
        self.header: list[str] = self._read_header()

    def _read_header(self) -> list[str]:
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                raise EmptyFileError("file is empty: a header row is required") from None
            except _csv.Error as exc:
                raise HeaderError(f"header row is malformed CSV: {exc}") from None
            start = self._consumed + 1
            self._consumed = self._reader.line_num
            if start in self._lines.too_long:
                raise HeaderError(f"header row is longer than {self._limits.max_line_bytes} characters")
            if row:
                break
        names = [cell.strip() for cell in row]
        if len(names) > self._limits.max_columns:
            raise HeaderError(f"header has {len(names)} columns; the limit is {self._limits.max_columns}")
        if "" in names:
            raise HeaderError(f"header column {names.index('') + 1} has no name")
        seen: set[str] = set()
        dupes = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
        if dupes:
            raise HeaderError(f"header names column {dupes[0]!r} more than once")
        return names

    def batches(self) -> Iterator[RowBatch]:
        """Yield the data rows in batches of up to `limits.batch_rows`, blank lines dropped."""
        reader = self._reader
        size = self._limits.batch_rows
        width = len(self.header)
        while True:
            rows: list[list[str]] = []
            problems: dict[int, RowProblem] = {}
            start = self._consumed
            try:
                rows.extend(islice(reader, size))
            except _csv.Error as exc:
                # `rows` holds the records parsed before the bad one.
                failed_at = start + len(rows) + sum(map(_line_breaks, rows)) + 1
                if reader.line_num != failed_at:
                    raise MalformedCsvError(
                        f"malformed CSV in the record starting at line {failed_at} (unbalanced quote or a "
                        f"field over {_csv.field_size_limit()} characters): {exc}"
                    ) from None
                problems[len(rows)] = (ROW, "", f"malformed CSV: {exc}")
                rows.append([])
            end = reader.line_num
            if not rows:
                return
            self._consumed = end
            if end - start == len(rows):
                lines = list(range(start + 1, end + 1))
            else:
                lines = self._line_numbers(rows, start)
            if self._lines.too_long:
                self._mark_too_long(lines, end, problems)
            if problems or [] in rows or len(set(map(len, rows))) != 1 or len(rows[0]) != width:
                lines, rows, problems = self._sift(lines, rows, problems, width)
            if rows:
                yield RowBatch(lines, rows, problems)

    @staticmethod
    def _line_numbers(rows: list[list[str]], start: int) -> list[int]:
        lines = []
        line = start + 1
        for row in rows:
            lines.append(line)
            line += 1 + _line_breaks(row)
        return lines

    def _mark_too_long(self, lines: list[int], end: int, problems: dict[int, RowProblem]) -> None:
        too_long = self._lines.too_long
        for line in [n for n in too_long if n <= end]:
            length = too_long.pop(line)
            index = bisect_right(lines, line) - 1
            if index >= 0 and index not in problems:
                reason = f"line too long: {length} characters (limit {self._limits.max_line_bytes})"
                problems[index] = (ROW, f"line {line}", reason)

    @staticmethod
    def _sift(
        lines: list[int], rows: list[list[str]], problems: dict[int, RowProblem], width: int
    ) -> tuple[list[int], list[list[str]], dict[int, RowProblem]]:
        """Drop blank lines and turn rows of the wrong width into problems."""
        out_lines: list[int] = []
        out_rows: list[list[str]] = []
        out_problems: dict[int, RowProblem] = {}
        for i, (line, row) in enumerate(zip(lines, rows, strict=True)):
            problem = problems.get(i)
            if problem is None:
                if not row:
                    continue
                if len(row) != width:
                    problem = (
                        ROW,
                        excerpt(",".join(row)),
                        f"wrong column count: {len(row)}, expected {width}",
                    )
            if problem is not None:
                out_problems[len(out_rows)] = problem
            out_lines.append(line)
            out_rows.append(row)
        return out_lines, out_rows, out_problems
