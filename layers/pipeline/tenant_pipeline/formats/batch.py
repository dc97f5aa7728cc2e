"""The unit readers hand to the validator: a list of rows with their source line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
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
