"""The unit readers hand to the validator: records with the source line where each starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROW = "(row)"
"""Field name of problems that concern a whole record rather than one value."""

RowProblem = tuple[str, str, str]
"""(field, value excerpt, reason) for a record the reader itself rejects (too long, bad JSON, ...)."""

EXCERPT_CHARS = 80


def excerpt(value: object) -> str:
    """A short excerpt of a value for error reports (text as it is, anything else as its repr)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return text


@dataclass(slots=True)
class RowBatch:
    """Consecutive records of one file, in file order. Records listed in `problems` are not validated."""

    lines: list[int]
    rows: list[Any]
    problems: dict[int, RowProblem] = field(default_factory=dict)
