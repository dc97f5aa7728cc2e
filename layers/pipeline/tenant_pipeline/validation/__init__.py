"""Row validation: entity schemas compiled into per-column checks, applied while streaming.

`validate_stream` is the entry point; see `columns` for the type, format and normalisation
rules, `duplicates` for primary-key tracking and its memory trade-off.
"""

from __future__ import annotations

from tenant_pipeline.formats.errors import FileRejectedError
from tenant_pipeline.validation.columns import MISSING, FieldProblem, SchemaCompileError, render_utc
from tenant_pipeline.validation.compiler import CompiledEntity, compile_entity
from tenant_pipeline.validation.duplicates import KeyTracker
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidRow
from tenant_pipeline.validation.stream import validate_stream

__all__ = [
    "MISSING",
    "CompiledEntity",
    "FieldError",
    "FieldProblem",
    "FileRejectedError",
    "InvalidRow",
    "KeyTracker",
    "SchemaCompileError",
    "ValidRow",
    "compile_entity",
    "render_utc",
    "validate_stream",
]
