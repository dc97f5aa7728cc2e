"""Row validation: entity schemas compiled into per-column checks, applied while streaming.

`validate_batches` is the entry point (bulk outcomes: valid rows as tuples, invalid rows with
reasons); `validate_stream` gives the same per row. See `columns` for the type, format and
normalisation rules, `duplicates` for primary-key tracking and its memory bound.
"""

from __future__ import annotations

from tenant_pipeline.formats.errors import FileRejectedError
from tenant_pipeline.validation.columns import ColumnRule, render_utc
from tenant_pipeline.validation.compiler import (
    DUPLICATE_REASON,
    CompiledEntity,
    compile_entity,
    duplicate_reason,
)
from tenant_pipeline.validation.duplicates import (
    KeyTracker,
    LateDuplicate,
    SavedKeys,
    late_duplicates_in,
    write_late_duplicates,
)
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidatedBatch, ValidRow
from tenant_pipeline.validation.problems import MISSING, FieldProblem, SchemaCompileError
from tenant_pipeline.validation.stream import (
    Leg,
    PassClock,
    ReadCheckpoint,
    ValidationPass,
    resumable,
    settle,
    validate_batches,
    validate_stream,
)

__all__ = [
    "DUPLICATE_REASON",
    "MISSING",
    "ColumnRule",
    "CompiledEntity",
    "FieldError",
    "FieldProblem",
    "FileRejectedError",
    "InvalidRow",
    "KeyTracker",
    "LateDuplicate",
    "Leg",
    "PassClock",
    "ReadCheckpoint",
    "SavedKeys",
    "SchemaCompileError",
    "ValidRow",
    "ValidatedBatch",
    "ValidationPass",
    "compile_entity",
    "duplicate_reason",
    "late_duplicates_in",
    "render_utc",
    "resumable",
    "settle",
    "validate_batches",
    "validate_stream",
    "write_late_duplicates",
]
