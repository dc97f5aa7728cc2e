"""What validation yields per row.

Named tuples rather than dataclasses: the validator builds them in bulk through C-level
`tuple.__new__`, which keeps per-row overhead out of the hot loop.
"""

from __future__ import annotations

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
