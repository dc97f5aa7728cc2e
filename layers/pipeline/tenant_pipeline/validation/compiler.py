"""An entity schema compiled once into column checks, and the batch validation built on them.

A batch is validated column by column: each column's C-level fast path settles the common
case (every value valid) in one sweep, and only a column holding a bad value is re-checked
value by value to name the reasons. Records are then assembled in bulk. Rows that fail get an
`InvalidRow` with one `FieldError` per failing field; the rest a `ValidRow`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain, compress, repeat
from operator import is_, itemgetter
from typing import Any

from tenant_pipeline.entities import EntitySchema
from tenant_pipeline.formats.batch import RowBatch, excerpt
from tenant_pipeline.formats.errors import MissingColumnError, UnknownColumnError
from tenant_pipeline.validation.columns import MISSING, ColumnCheck, FieldProblem, compile_column
from tenant_pipeline.validation.duplicates import KeyTracker
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidRow, make_valid

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

    def validate_text(self, batch: RowBatch, keys: KeyTracker) -> list[Outcome]:
        """Validate CSV rows (lists of cells, one per header column)."""
        good, problems = self._split(batch)
        rows = batch.rows if good is None else [batch.rows[i] for i in good]
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.checks]
        errors: dict[int, list[FieldError]] = {}
        values = []
        for check, column in zip(self.checks, columns, strict=True):
            values.append(_column(check.text_batch, check.text, check.name, column, offset=0, errors=errors))
        return self._finish(batch, good=good, problems=problems, values=values, errors=errors, keys=keys)

    def validate_json(self, batch: RowBatch, keys: KeyTracker) -> list[Outcome]:
        """Validate decoded JSON values; each must be an object with known keys."""
        if set(map(type, batch.rows)) - {dict}:
            batch = _reject_non_objects(batch)
        good, problems = self._split(batch)
        rows = batch.rows if good is None else [batch.rows[i] for i in good]
        errors: dict[int, list[FieldError]] = {}
        if not self._known.issuperset(chain.from_iterable(rows)):
            for i, row in enumerate(rows):
                extra = [k for k in row if k not in self._known]
                if extra:
                    errors.setdefault(i, []).append(
                        FieldError(excerpt(extra[0]), excerpt(row[extra[0]]), "unknown field for this entity")
                    )
        values = []
        for check in self.checks:
            column = list(map(dict.get, rows, repeat(check.name)))
            values.append(_column(check.json_batch, check.json, check.name, column, offset=0, errors=errors))
        return self._finish(batch, good=good, problems=problems, values=values, errors=errors, keys=keys)

    @staticmethod
    def _split(batch: RowBatch) -> tuple[list[int] | None, dict[int, InvalidRow]]:
        """Indexes of rows to validate (None: all), and reader-rejected rows as outcomes."""
        if not batch.problems:
            return None, {}
        problems = {
            i: InvalidRow(batch.lines[i], (FieldError(*problem),)) for i, problem in batch.problems.items()
        }
        return [i for i in range(len(batch.rows)) if i not in problems], problems

    def _finish(
        self,
        batch: RowBatch,
        *,
        good: list[int] | None,
        problems: dict[int, InvalidRow],
        values: list[list[Any]],
        errors: dict[int, list[FieldError]],
        keys: KeyTracker,
    ) -> list[Outcome]:
        names = self.names
        records = list(map(dict, map(zip, repeat(names), zip(*values, strict=True))))
        for name, column in zip(names, values, strict=True):
            if MISSING in column:
                holes = compress(records, map(is_, column, repeat(MISSING)))
                deque(map(dict.__delitem__, holes, repeat(name)), maxlen=0)
        lines = batch.lines if good is None else [batch.lines[i] for i in good]
        self._check_duplicates(records, errors, keys)
        outcomes: list[Outcome] = list(map(make_valid, zip(lines, records, strict=True)))
        for i, row_errors in errors.items():
            outcomes[i] = InvalidRow(lines[i], tuple(row_errors))
        for i in sorted(problems):
            # Ascending original positions: each insert lands where the row was in the file.
            outcomes.insert(i, problems[i])
        return outcomes

    def _check_duplicates(
        self, records: list[dict[str, Any]], errors: dict[int, list[FieldError]], keys: KeyTracker
    ) -> None:
        key = self._key
        if errors:
            candidates = [i for i in range(len(records)) if i not in errors]
            ids = [records[i][key] for i in candidates]
        else:
            candidates = None
            ids = [r[key] for r in records] if self._key_index < 0 else list(map(itemgetter(key), records))
        for pos in keys.add_batch(ids):
            i = pos if candidates is None else candidates[pos]
            errors[i] = [
                FieldError(key, excerpt(records[i][key]), "duplicate primary key (an earlier row has it)")
            ]


def _reject_non_objects(batch: RowBatch) -> RowBatch:
    problems = dict(batch.problems)
    for i, row in enumerate(batch.rows):
        if i not in problems and not isinstance(row, dict):
            what = {list: "an array", str: "a string", type(None): "null"}.get(type(row), "a number")
            problems[i] = (ROW, excerpt(row), f"not a JSON object (got {what})")
    return RowBatch(batch.lines, batch.rows, problems)


_SMALL = 16


def _column(
    batch: Any,
    check: Any,
    name: str,
    column: Sequence[Any],
    *,
    offset: int,
    errors: dict[int, list[FieldError]],
) -> list[Any]:
    """Normalised column: the fast path on the whole, halving around bad values down to `_SMALL`."""
    if not column:
        return []
    out = batch(column)
    if out is not None:
        return list(out)
    if len(column) <= _SMALL:
        return _one_by_one(check, name, column, offset, errors)
    mid = len(column) // 2
    head = _column(batch, check, name, column[:mid], offset=offset, errors=errors)
    return head + _column(batch, check, name, column[mid:], offset=offset + mid, errors=errors)


def _one_by_one(
    check: Any, name: str, column: Sequence[Any], offset: int, errors: dict[int, list[FieldError]]
) -> list[Any]:
    out: list[Any] = []
    append = out.append
    for i, value in enumerate(column, start=offset):
        try:
            append(check(value))
        except FieldProblem as problem:
            errors.setdefault(i, []).append(
                FieldError(name, "" if value is None else excerpt(value), str(problem))
            )
            append(MISSING)
    return out
