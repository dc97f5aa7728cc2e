"""What a failed check raises, and the marker of a missing value."""

from __future__ import annotations

from typing import Any


class FieldProblem(ValueError):
    """A value breaks its column's rule; `str()` is the reason."""


class SchemaCompileError(ValueError):
    """An entity schema uses a keyword or format the compiler does not support."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A missing value (empty cell, JSON null or absent key)."""
