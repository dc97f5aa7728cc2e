"""An entity schema compiled once into column checks, and the batch validation built on them.

A batch is validated column by column: each column's sweep (see `sweeps`) settles the common
case (every value valid) in one C-level pass, and only the values it cannot vouch for are checked
one by one to name the reasons. Valid rows are then assembled in bulk as tuples in schema column
order (`zip`), never as per-row dicts. Rows that fail become an `InvalidRow` with one `FieldError`
per failing field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain, compress, repeat
from operator import attrgetter
from typing import Any

from tenant_pipeline.entities import EntitySchema
from tenant_pipeline.formats.batch import ColumnBatch, RowBatch, excerpt
from tenant_pipeline.formats.errors import MissingColumnError, UnknownColumnError
from tenant_pipeline.validation.columns import ColumnCheck, compile_column
from tenant_pipeline.validation.duplicates import KeyTracker
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidatedBatch, ValidRow

ROW = "(row)"
Outcome = ValidRow | InvalidRow


@dataclass(frozen=True)
class CompiledEntity:
    """Column checks for every property of one entity, in schema order."""

    entity: EntitySchema
    checks: tuple[ColumnCheck, ...]

    def for_header(self, header: Sequence[str]) -> ColumnPlan:
        """Checks in the order of a CSV header; rejects unknown columns and missing required ones."""
        known = {c.name: c for c in self.checks}
        unknown = [h for h in header if h not in known]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise UnknownColumnError(
                f"header names column(s) the {self.entity.name} schema does not know: {names} "
                f"(known: {', '.join(known)})"
            )
        missing = [c for c in self.entity.columns if c in self.entity.required and c not in header]
        if missing:
            raise MissingColumnError(f"header lacks required column(s): {', '.join(map(repr, missing))}")
        return ColumnPlan(self.entity, tuple(known[h] for h in header))

    def all_columns(self) -> ColumnPlan:
        return ColumnPlan(self.entity, self.checks)


@cache
def compile_entity(entity: EntitySchema) -> CompiledEntity:
    """Compile once per entity and process."""
    props = entity.raw["properties"]
    checks = tuple(compile_column(name, props[name], name in entity.required) for name in entity.columns)
    return CompiledEntity(entity, checks)


class ColumnPlan:
    """Validates batches whose rows carry these columns (CSV cells in order, or JSON objects)."""

    def __init__(self, entity: EntitySchema, checks: tuple[ColumnCheck, ...]) -> None:
        self.checks = checks
        self.names = tuple(c.name for c in checks)
        self._known = frozenset(entity.columns)
        self._key = entity.primary_key
        self._key_index = self.names.index(entity.primary_key) if entity.primary_key in self.names else -1
        # Where each schema column comes from in `checks` (-1: absent from the file, always None).
        self._layout = tuple(self.names.index(c) if c in self.names else -1 for c in entity.columns)
        self._text_sweeps = tuple((c.name, c.text_sweep) for c in checks)
        self._json_sweeps = tuple((c.name, c.json_sweep) for c in checks)

    def validate_columns(self, batch: ColumnBatch, keys: KeyTracker) -> ValidatedBatch:
        """Validate CSV rows given as columns of cells (one list per header column)."""
        errors: dict[int, list[FieldError]] = {}
        values = []
        for (name, sweep), cells in zip(self._text_sweeps, batch.columns, strict=True):
            column, problems = sweep(cells)
            for i, reason in problems:
                errors.setdefault(i, []).append(FieldError(name, excerpt(cells[i]), reason))
            values.append(column)
        rejected = [InvalidRow(line, (FieldError(*problem),)) for line, _, problem in batch.rejected]
        return self._finish(batch.lines, values, errors, rejected, keys)

    def validate_json(self, batch: RowBatch, keys: KeyTracker) -> ValidatedBatch:
        """Validate decoded JSON values; each must be an object with known keys."""
        if set(map(type, batch.rows)) - {dict}:
            batch = _reject_non_objects(batch)
        lines, rows = batch.lines, batch.rows
        rejected: list[InvalidRow] = []
        if batch.problems:
            rejected = [InvalidRow(lines[i], (FieldError(*p),)) for i, p in batch.problems.items()]
            keep = [i not in batch.problems for i in range(len(rows))]
            lines, rows = list(compress(lines, keep)), list(compress(rows, keep))
        errors: dict[int, list[FieldError]] = {}
        if not self._known.issuperset(chain.from_iterable(rows)):
            for i, row in enumerate(rows):
                extra = [k for k in row if k not in self._known]
                if extra:
                    errors.setdefault(i, []).append(
                        FieldError(excerpt(extra[0]), excerpt(row[extra[0]]), "unknown field for this entity")
                    )
        values = []
        for name, sweep in self._json_sweeps:
            cells = list(map(dict.get, rows, repeat(name)))
            column, problems = sweep(cells)
            for i, reason in problems:
                value = cells[i]
                errors.setdefault(i, []).append(
                    FieldError(name, "" if value is None else excerpt(value), reason)
                )
            values.append(column)
        return self._finish(lines, values, errors, rejected, keys)

    def _finish(
        self,
        lines: list[int],
        values: list[list[Any]],
        errors: dict[int, list[FieldError]],
        rejected: list[InvalidRow],
        keys: KeyTracker,
    ) -> ValidatedBatch:
        if self._key_index >= 0 and lines:
            self._check_duplicates(lines, values[self._key_index], errors, keys)
        absent = [None] * len(lines)
        columns = [values[i] if i >= 0 else absent for i in self._layout]
        if errors:
            keep = [True] * len(lines)
            for i in errors:
                keep[i] = False
            rows = list(compress(zip(*columns, strict=True), keep))
            invalid = [InvalidRow(lines[i], tuple(found)) for i, found in errors.items()]
            lines = list(compress(lines, keep))
        else:
            rows = list(zip(*columns, strict=True))
            invalid = []
        if rejected:
            invalid += rejected
        if len(invalid) > 1:
            invalid.sort(key=_line_of)
        return ValidatedBatch(lines, rows, invalid)

    def _check_duplicates(
        self, lines: list[int], ids: list[Any], errors: dict[int, list[FieldError]], keys: KeyTracker
    ) -> None:
        if errors:
            keep = [True] * len(ids)
            for i in errors:
                keep[i] = False
            candidates = list(compress(range(len(ids)), keep))
            found = keys.check(list(compress(lines, keep)), list(compress(ids, keep)))
            found = list(map(candidates.__getitem__, found))
        else:
            found = keys.check(lines, ids)
        for i in found:
            errors[i] = [FieldError(self._key, excerpt(ids[i]), DUPLICATE_REASON)]


DUPLICATE_REASON = "duplicate primary key (an earlier row has it)"
_line_of = attrgetter("line")


def _reject_non_objects(batch: RowBatch) -> RowBatch:
    problems = dict(batch.problems)
    for i, row in enumerate(batch.rows):
        if i not in problems and not isinstance(row, dict):
            what = {list: "an array", str: "a string", type(None): "null"}.get(type(row), "a number")
            problems[i] = (ROW, excerpt(row), f"not a JSON object (got {what})")
    return RowBatch(batch.lines, batch.rows, problems)
