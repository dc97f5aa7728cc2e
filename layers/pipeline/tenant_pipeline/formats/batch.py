"""The units readers hand to the validator: rows (or CSV columns) with their source line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import Any

RowProblem = tuple[str, str, str]
"""(field, value excerpt, reason) for a row the reader itself rejects (too long, bad JSON, ...)."""

EXCERPT_CHARS = 80


def excerpt(value: object) -> str:
    """A short, printable excerpt of a value for error reports."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return text


@dataclass(slots=True)
class RowBatch:
    """Consecutive rows of one file. Rows listed in `problems` are not to be validated."""

    lines: list[int]
    rows: list[Any]
    problems: dict[int, RowProblem] = field(default_factory=dict)


@dataclass(slots=True)
class ColumnBatch:
    """Consecutive CSV rows as columns: `columns[j][i]` is cell `j` of the row at `lines[i]`.

    Rows need not be in file order inside a batch (`lines` says where each is). Rows the reader
    rejected are in `rejected` as `(line, cells, problem)`, in file order.
    """

    lines: list[int]
    columns: list[list[str]]
    rejected: list[tuple[int, list[str], RowProblem]] = field(default_factory=list)

    @classmethod
    def from_rows(cls, batch: RowBatch, width: int) -> ColumnBatch:
        """The row batch's rows transposed; its problem rows become `rejected`."""
        rows, lines = batch.rows, batch.lines
        rejected = []
        if batch.problems:
            rejected = [(lines[i], rows[i], problem) for i, problem in sorted(batch.problems.items())]
            keep = [i not in batch.problems for i in range(len(rows))]
            rows, lines = list(compress(rows, keep)), list(compress(lines, keep))
        columns = list(map(list, zip(*rows, strict=True))) if rows else [[] for _ in range(width)]
        return cls(lines, columns, rejected)

    def to_rows(self) -> RowBatch:
        """The same rows as lists of cells, in file order (problems indexed as in `RowBatch`)."""
        entries: list[tuple[int, list[str], RowProblem | None]] = [
            (line, list(cells), None)
            for line, cells in zip(self.lines, zip(*self.columns, strict=True), strict=True)
        ]
        entries += self.rejected
        entries.sort(key=itemgetter(0))
        problems = {i: problem for i, (_, _, problem) in enumerate(entries) if problem is not None}
        return RowBatch([line for line, _, _ in entries], [cells for _, cells, _ in entries], problems)
