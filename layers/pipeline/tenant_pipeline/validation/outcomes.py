"""What validation yields: per row (`ValidRow`, `InvalidRow`) or per batch (`ValidatedBatch`).

Named tuples rather than dataclasses for the per-row outcomes: they are built in bulk through
C-level `tuple.__new__`, which keeps per-row overhead out of the hot loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple


class FieldError(NamedTuple):
    """One reason a row is invalid. `field` is `(row)` for whole-row problems."""

    field: str
    value: str
    reason: str


class ValidRow(NamedTuple):
    """A row that passed: `record` holds coerced, normalised values (missing optionals absent)."""

    line: int
    record: dict[str, Any]


class InvalidRow(NamedTuple):
    """A row that failed, with every reason found (one per field at most)."""

    line: int
    errors: tuple[FieldError, ...]


make_valid = partial(tuple.__new__, ValidRow)
"""`make_valid((line, record))`, the bulk constructor used with `map`."""


@dataclass(slots=True)
class ValidatedBatch:
    """The outcome of one batch of consecutive rows, in bulk.

    `rows[i]` is the valid row at line `lines[i]`: its values in the entity's schema column order,
    None where a value is missing. `lines` and `invalid` are in file order, and `invalid_at[k]` is
    the position of `invalid[k]` among the batch's records (several records can share a line in a
    JSON array). Every record read is in exactly one of the two: `read`, the count of records the
    reader handed over, equals `total`.
    """

    lines: list[int]
    rows: list[tuple[Any, ...]]
    invalid: list[InvalidRow]
    invalid_at: list[int] = field(default_factory=list)
    read: int = 0

    @property
    def total(self) -> int:
        """Rows of the file this batch covers."""
        return len(self.lines) + len(self.invalid)
