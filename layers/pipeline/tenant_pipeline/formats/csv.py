"""Streaming CSV reader: Python's `csv.reader` over the decoded text, batched by records.

The records are exactly those `csv.reader(io.StringIO(text, newline=""), strict=True)` reads from the
whole file (`TextLines` splits lines as `newline=""` does), so a quoted field may hold any number of
line breaks of any kind and the outcome never depends on chunk or batch sizes. Blank lines are skipped,
as `csv.DictReader` skips them; every other record is one row, and a record whose width differs from
the header's is a row problem. A record starts on the line after the previous one ended
(`reader.line_num`).

Bad records. A malformed record confined to one line (`"a"b`) is a row problem and reading goes on
with the next line. A record that fails after spanning several lines (an unbalanced quote, or a
quoted field over the csv module's field size limit) leaves no trustworthy place to resume, so the
file is rejected, naming the line where that record starts. A line longer than
`limits.max_line_bytes` is never buffered: without a quote character and at the start of a record it
is one record, reported as too long; otherwise the file is rejected.

Resuming. After any batch, `resume_point()` names the byte offset and line where the next record
starts (None in the rare block where an over-long line hides its byte count: the next batch then
gives one); a reader built with that point and the header reads on from a ranged read of the object.
"""

from __future__ import annotations

import csv as _csv
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import NamedTuple

from tenant_pipeline.formats.batch import ROW, RowBatch, RowProblem, excerpt
from tenant_pipeline.formats.errors import EmptyFileError, HeaderError, MalformedCsvError, RecordTooLargeError
from tenant_pipeline.formats.limits import ReadLimits
from tenant_pipeline.formats.lines import TextLines


class ResumePoint(NamedTuple):
    """Where the next record starts: its byte offset in the object and the number of lines before it."""

    offset: int
    line: int


class CsvReader:
    """Reads the header, then yields batches of up to `limits.batch_rows` records.

    Given a `header` (as a previous reader read it) and a `start`, it reads a stream that begins at
    that point of the file instead, with no header row in it."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        limits: ReadLimits,
        *,
        header: Sequence[str] | None = None,
        start: ResumePoint | None = None,
    ) -> None:
        self._limits = limits
        offset, first_line = start if start is not None else (0, 0)
        self._lines = TextLines(chunks, limits, first_line=first_line, offset=offset)
        self._reader = _csv.reader(chain.from_iterable(self._lines.blocks()), strict=True)
        self._base = first_line  # lines before the stream's first one: `line_num` counts from there
        self._end = first_line  # the line on which the last record read ends
        self.header: list[str] = list(header) if header is not None else self._read_header()

    def resume_point(self) -> ResumePoint | None:
        """Where the record after the last batch yielded starts, or None when its offset is not known."""
        offset = self._lines.offset_after(self._end)
        return None if offset is None else ResumePoint(offset, self._end)

    def _read_header(self) -> list[str]:
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                raise EmptyFileError("file is empty: a header row is required") from None
            except _csv.Error as exc:
                raise HeaderError(f"header row is malformed CSV: {exc}") from None
            self._end = self._base + self._reader.line_num
            if self._lines.too_long and min(self._lines.too_long) <= self._end:
                raise HeaderError(f"header row is longer than {self._limits.max_line_bytes} characters")
            if row:
                break
        names = [cell.strip() for cell in row]
        if len(names) > self._limits.max_columns:
            raise HeaderError(f"header has {len(names)} columns; the limit is {self._limits.max_columns}")
        if "" in names:
            raise HeaderError(f"header column {names.index('') + 1} has no name")
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise HeaderError(f"header names column {name!r} more than once")
            seen.add(name)
        return names

    def batches(self) -> Iterator[RowBatch]:
        """The records after the header, in file order, in batches of up to `limits.batch_rows`."""
        size = self._limits.batch_rows
        width = len(self.header)
        reader, too_long, base = self._reader, self._lines.too_long, self._base
        lines: list[int] = []
        rows: list[list[str]] = []
        problems: dict[int, RowProblem] = {}
        while True:
            end = self._end
            try:
                for row in reader:
                    start = end + 1
                    end = base + reader.line_num
                    if too_long and min(too_long) <= end:
                        self._end = end
                        problems[len(rows)] = self._over_long(start)
                    elif not row:
                        continue
                    lines.append(start)
                    rows.append(row)
                    if len(rows) >= size:
                        self._end = end
                        yield _sift(lines, rows, problems, width)
                        lines, rows, problems = [], [], {}
            except _csv.Error as exc:
                start, self._end = end + 1, base + reader.line_num
                if too_long and min(too_long) <= self._end:
                    problem = self._over_long(start)
                elif self._end > start:
                    raise MalformedCsvError(
                        f"malformed CSV in the record starting at line {start} (unbalanced quote, or a "
                        f"quoted field over {_csv.field_size_limit()} characters): {exc}"
                    ) from None
                else:
                    problem = (ROW, "", f"malformed CSV: {exc}")
                problems[len(rows)] = problem
                lines.append(start)
                rows.append([])
                continue
            self._end = end
            break
        if rows:
            yield _sift(lines, rows, problems, width)

    def _over_long(self, start: int) -> RowProblem:
        """The problem of a record holding an over-long line, or a file error when it can't be delimited."""
        too_long = self._lines.too_long
        line = min(too_long)
        over = too_long.pop(line)
        cap = self._limits.max_line_bytes
        if over.quoted or line != start or self._end != start:
            where = "holds a quote" if over.quoted else f"is inside the record starting at line {start}"
            raise RecordTooLargeError(
                f"line {line} is longer than {cap} characters and {where}, so where its record ends "
                "cannot be known; the file cannot be read past it"
            )
        return (ROW, f"line {line}", f"line too long: {over.length} characters (limit {cap})")


def _sift(lines: list[int], rows: list[list[str]], problems: dict[int, RowProblem], width: int) -> RowBatch:
    """The batch, with records of the wrong width added to its problems."""
    if len(set(map(len, rows))) != 1 or len(rows[0]) != width:
        for i, row in enumerate(rows):
            if len(row) != width and i not in problems:
                problems[i] = (
                    ROW,
                    excerpt(",".join(row)),
                    f"wrong column count: {len(row)}, expected {width}",
                )
    return RowBatch(lines, rows, problems)
