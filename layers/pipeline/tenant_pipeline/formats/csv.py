"""Streaming CSV reader (RFC 4180): header first, then batches of rows with line numbers.

Parsing is the C `csv` module's (strict mode) fed by `TextLines`, so quoted commas, quotes and
newlines, CRLF and a UTF-8 BOM behave as in Python's reference reader. Two paths share that
definition:

* Fast path, per group of up to `batch_rows` physical lines: lines without a quote character are
  split on commas all at once (one `",".join(...).split(",")`, then one slice per column), which
  is exactly what the csv module makes of a line without quotes; lines with quotes go through
  `csv.reader` together, and the path is taken only if each of them parsed as exactly one whole
  record (so every line starts a record) and every row has the header's width. The batch then
  comes as columns, the unquoted rows first.
* Otherwise (blank or over-long lines, a record spanning lines, a malformed record, a row of the
  wrong width) the group is read record by record as a reference reader would, continuing into
  the next lines if its last record does.

Resynchronisation: a malformed record confined to one physical line (e.g. `"a"b`) becomes a row
error and reading continues on the next line. A record that fails after spanning several lines
(an unbalanced quote, or a quoted field over the size limit) leaves no trustworthy place to
resume, so the file is rejected, naming the line where that record starts.
"""

from __future__ import annotations

import csv as _csv
from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import compress, repeat
from operator import not_
from typing import TypeVar

from tenant_pipeline.formats.batch import ColumnBatch, RowBatch, RowProblem, excerpt
from tenant_pipeline.formats.errors import EmptyFileError, HeaderError, MalformedCsvError
from tenant_pipeline.formats.limits import ReadLimits
from tenant_pipeline.formats.lines import TextLines

ROW = "(row)"
"""Field name used for problems that concern a whole row rather than one cell."""

T = TypeVar("T")
LinesHandler = Callable[[list[str], int], "T | None"]


def _line_breaks(cells: list[str]) -> int:
    """Physical line breaks inside a parsed record's cells (`\\r\\n` counts once)."""
    n = 0
    for cell in cells:
        if "\n" in cell or "\r" in cell:
            n += cell.count("\n") + cell.count("\r") - cell.count("\r\n")
    return n


class CsvReader:
    """Reads a header, then yields batches of rows (every row has the header's width)."""

    def __init__(self, chunks: Iterator[bytes], limits: ReadLimits) -> None:
        self._limits = limits
        self._lines = TextLines(chunks, limits)
        self._blocks = self._lines.blocks()
        self._carry: list[str] = []  # lines read from `_blocks` but not yet consumed
        self._pos = 0  # consumed prefix of `_carry` while the record-by-record path reads
        self._consumed = 0  # physical lines consumed by complete records (or skipped errors)
        # An unquoted cell is at most a line long: the fast path needs no field-size check then.
        self._fast_ok = limits.max_line_bytes <= _csv.field_size_limit()
        self.header: list[str] = self._read_header()

    def _read_header(self) -> list[str]:
        reader = _csv.reader(self._feed(self._carry), strict=True)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                raise EmptyFileError("file is empty: a header row is required") from None
            except _csv.Error as exc:
                raise HeaderError(f"header row is malformed CSV: {exc}") from None
            start = self._consumed + 1
            self._consumed = reader.line_num
            if start in self._lines.too_long:
                raise HeaderError(f"header row is longer than {self._limits.max_line_bytes} characters")
            if row:
                break
        self._carry = self._carry[self._pos :]
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

    def _feed(self, first: list[str]) -> Iterator[str]:
        """Lines for a record-by-record `csv.reader`: `first`, then the next blocks, one at a time."""
        self._carry, self._pos = first, 0
        while True:
            while self._pos < len(self._carry):
                self._pos += 1
                yield self._carry[self._pos - 1]
            block = next(self._blocks, None)
            if block is None:
                return
            self._carry, self._pos = block, 0

    def _take(self, count: int) -> list[str]:
        """Up to `count` whole physical lines, the carried-over ones first."""
        lines, self._carry = self._carry, []
        while len(lines) < count:
            block = next(self._blocks, None)
            if block is None:
                break
            lines = lines + block if lines else block
        if len(lines) > count:
            lines, self._carry = lines[:count], lines[count:]
        return lines

    def batches(self) -> Iterator[RowBatch]:
        """Yield the data rows in batches of up to `limits.batch_rows`, in file order, blank lines dropped."""
        for batch in self.column_batches():
            yield batch.to_rows()

    def column_batches(self) -> Iterator[ColumnBatch]:
        """As `batches`, with each batch's rows as columns (see the module docstring)."""
        return self.column_batches_or(None)

    def column_batches_or(self, lines_first: LinesHandler[T] | None) -> Iterator[ColumnBatch | T]:
        """As `column_batches`, but each group of whole lines goes to `lines_first` first.

        `lines_first(lines, first_line_number)` gets the group's physical lines (with their line
        ends) when none is over-long; what it returns (not None) stands for those lines. When it
        returns None the group is read as `column_batches` reads it.
        """
        size = self._limits.batch_rows
        width = len(self.header)
        while True:
            lines = self._take(size)
            if not lines:
                return
            if lines_first is not None and self._fast_ok and not self._any_too_long(len(lines)):
                handled = lines_first(lines, self._consumed + 1)
                if handled is not None:
                    self._consumed += len(lines)
                    yield handled
                    continue
            batch = self._split_fast(lines, width) if self._fast_ok else None
            if batch is None:
                rows = self._read_records(lines, width)
                if rows is None:
                    continue
                batch = ColumnBatch.from_rows(rows, width)
            yield batch

    def _split_fast(self, lines: list[str], width: int) -> ColumnBatch | None:
        """The lines as columns when each is one whole record of the header's width, else None."""
        start = self._consumed
        if self._any_too_long(len(lines)):
            return None
        quoted = list(map(str.__contains__, lines, repeat('"')))
        quoted_rows: list[list[str]] = []
        plain = lines
        if True in quoted:
            quoted_lines = list(compress(lines, quoted))
            reader = _csv.reader(quoted_lines, strict=True)
            try:
                quoted_rows = list(reader)
            except _csv.Error:
                return None
            if (
                len(quoted_rows) != len(quoted_lines)
                or reader.line_num != len(quoted_lines)
                or set(map(len, quoted_rows)) != {width}
            ):
                return None
            plain = list(compress(lines, map(not_, quoted)))
        columns: list[list[str]] = [[] for _ in range(width)]
        if plain:
            text = "".join(plain)
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")  # (a bare CR ends a line too)
            if not text.endswith("\n"):
                text += "\n"
            if text.startswith("\n") or "\n\n" in text:
                return None  # blank lines: the record-by-record path skips them
            # One split of the whole group: a "\n" cell after each row marks the line's end, so every
            # row has the header's width exactly when the markers sit every `width + 1` cells.
            cells = text.replace("\n", ",\n,").split(",")
            cells.pop()  # the empty cell after the last marker
            step = width + 1
            if len(cells) != step * len(plain) or cells[width::step].count("\n") != len(plain):
                return None
            columns = [cells[j::step] for j in range(width)]
        numbers = range(start + 1, start + len(lines) + 1)
        if quoted_rows:
            for column, extra in zip(columns, zip(*quoted_rows, strict=True), strict=True):
                column.extend(extra)
            line_numbers = list(compress(numbers, map(not_, quoted))) + list(compress(numbers, quoted))
        else:
            line_numbers = list(numbers)
        self._consumed = start + len(lines)
        return ColumnBatch(line_numbers, columns)

    def _any_too_long(self, count: int) -> bool:
        """Whether one of the next `count` lines was over-long (and cut short by the line reader)."""
        too_long = self._lines.too_long
        return bool(too_long) and min(too_long) <= self._consumed + count

    def _read_records(self, lines: list[str], width: int) -> RowBatch | None:
        """The records starting in `lines` (the last may run on into later lines), one at a time."""
        reader = _csv.reader(self._feed(lines), strict=True)
        start = self._consumed
        rows: list[list[str]] = []
        problems: dict[int, RowProblem] = {}
        while reader.line_num < len(lines):
            try:
                row = next(reader)
            except StopIteration:
                break
            except _csv.Error as exc:
                # `rows` holds the records parsed before the bad one.
                failed_at = start + len(rows) + sum(map(_line_breaks, rows)) + 1
                if start + reader.line_num != failed_at:
                    raise MalformedCsvError(
                        f"malformed CSV in the record starting at line {failed_at} (unbalanced quote or a "
                        f"field over {_csv.field_size_limit()} characters): {exc}"
                    ) from None
                problems[len(rows)] = (ROW, "", f"malformed CSV: {exc}")
                rows.append([])
                continue
            rows.append(row)
        self._carry = self._carry[self._pos :]
        end = start + reader.line_num
        self._consumed = end
        if not rows:
            return None
        numbers = (
            list(range(start + 1, end + 1)) if end - start == len(rows) else self._line_numbers(rows, start)
        )
        if self._lines.too_long:
            self._mark_too_long(numbers, end, problems)
        if problems or [] in rows or len(set(map(len, rows))) != 1 or len(rows[0]) != width:
            numbers, rows, problems = self._sift(numbers, rows, problems, width)
        return RowBatch(numbers, rows, problems) if rows else None

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
