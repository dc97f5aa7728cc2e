"""An entity schema compiled once into column checks, and the batch validation built on them.

A batch is validated column by column: each column's sweep (see `sweeps`) settles the common
case (every value valid) in one C-level pass, and only the values it cannot vouch for are checked
one by one to name the reasons. Valid rows are then assembled in bulk as tuples in schema column
order (`zip`), never as per-row dicts. Rows that fail become an `InvalidRow` with one `FieldError`
per failing field.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain, compress, repeat
from operator import attrgetter, itemgetter
from types import ModuleType
from typing import Any

from tenant_pipeline.entities import EntitySchema
from tenant_pipeline.formats.batch import ColumnBatch, RowBatch, excerpt
from tenant_pipeline.formats.errors import MissingColumnError, UnknownColumnError
from tenant_pipeline.validation.columns import ColumnCheck, compile_column
from tenant_pipeline.validation.duplicates import KeyTracker
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidatedBatch, ValidRow
from tenant_pipeline.validation.problems import MISSING, FieldProblem

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
        # The C kernel's view: a spec per column, the row slot it fills, and the JSON key it reads.
        self._specs = tuple(c.native for c in checks)
        self._slots = tuple(entity.columns.index(c.name) for c in checks)
        self._keys = tuple(c.name.encode() for c in checks)
        self._width = len(entity.columns)
        self._key_slot = entity.columns.index(entity.primary_key) if self._key_index >= 0 else -1

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

    def validate_lines(
        self, kernel: ModuleType, lines: list[str], first: int, keys: KeyTracker
    ) -> ValidatedBatch | None:
        """Validate CSV lines (numbered from `first`) with the C kernel; None if it cannot split them."""
        result = kernel.text_rows(lines, self._specs, self._slots, self._width)
        if result is None:
            return None
        rows, bad = result
        errors = self._settle(rows, bad, text=True)
        return self._conclude(list(range(first, first + len(lines))), rows, errors, [], keys, ascending=True)

    def validate_json_lines(
        self,
        kernel: ModuleType,
        lines: list[int],
        raw: list[bytes],
        decode: Callable[[list[int], list[bytes]], RowBatch],
        keys: KeyTracker,
    ) -> ValidatedBatch:
        """Validate JSON Lines with the C kernel; the lines it leaves go through `decode` (orjson)."""
        rows, bad, fallback = kernel.json_rows(raw, self._specs, self._slots, self._keys, self._width)
        bad.sort()  # the kernel lists a row's values in the object's key order; reasons go in column order
        errors = self._settle(rows, bad, text=False)
        if not fallback:
            return self._conclude(lines, rows, errors, [], keys, ascending=True)
        # The rest go the Python way, merged in before the duplicate check (which needs every row).
        kept = len(lines) - len(fallback)
        keep = [True] * len(lines)
        for i in fallback:
            keep[i] = False
        errors = {i - bisect_left(fallback, i): found for i, found in errors.items()}
        other_lines, other_rows, other_errors, rejected = self._json_parts(
            decode([lines[i] for i in fallback], [raw[i] for i in fallback])
        )
        errors.update((kept + i, found) for i, found in other_errors.items())
        lines = list(compress(lines, keep)) + other_lines
        rows = list(compress(rows, keep)) + other_rows
        return self._conclude(lines, rows, errors, rejected, keys)

    def _settle(
        self, rows: list[Any], bad: list[tuple[int, int, Any]], text: bool
    ) -> dict[int, list[FieldError]]:
        """Run the Python check on each value the kernel left; fill its slot or record the reason."""
        errors: dict[int, list[FieldError]] = {}
        for i, j, raw in bad:
            check = self.checks[j]
            try:
                value = check.text(raw) if text else check.json(raw)
            except FieldProblem as problem:
                shown = excerpt(raw) if text or raw is not None else ""
                errors.setdefault(i, []).append(FieldError(check.name, shown, str(problem)))
                continue
            if value is not MISSING:
                slot = self._slots[j]
                row = rows[i]
                rows[i] = (*row[:slot], value, *row[slot + 1 :])
        return errors

    def validate_json(self, batch: RowBatch, keys: KeyTracker) -> ValidatedBatch:
        """Validate decoded JSON values; each must be an object with known keys."""
        return self._conclude(*self._json_parts(batch), keys)

    def _json_parts(
        self, batch: RowBatch
    ) -> tuple[list[int], list[tuple[Any, ...]], dict[int, list[FieldError]], list[InvalidRow]]:
        """Lines, row tuples, errors by row index and reader rejections, before the duplicate check."""
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
        return lines, self._rows(values, len(lines)), errors, rejected

    def _finish(
        self,
        lines: list[int],
        values: list[list[Any]],
        errors: dict[int, list[FieldError]],
        rejected: list[InvalidRow],
        keys: KeyTracker,
    ) -> ValidatedBatch:
        return self._conclude(lines, self._rows(values, len(lines)), errors, rejected, keys)

    def _rows(self, values: list[list[Any]], count: int) -> list[tuple[Any, ...]]:
        """Row tuples in schema column order from columns in plan order (None for absent columns)."""
        absent = [None] * count
        return list(zip(*[values[i] if i >= 0 else absent for i in self._layout], strict=True))

    def _conclude(
        self,
        lines: list[int],
        rows: list[tuple[Any, ...]],
        errors: dict[int, list[FieldError]],
        rejected: list[InvalidRow],
        keys: KeyTracker,
        *,
        ascending: bool | None = None,
    ) -> ValidatedBatch:
        """Check the primary keys, then split the rows into valid and invalid (`ascending`: see
        `KeyTracker.check`)."""
        if self._key_slot >= 0 and lines:
            ids = list(map(itemgetter(self._key_slot), rows))
            self._check_duplicates(lines, ids, errors, keys, ascending)
        if errors:
            keep = [True] * len(lines)
            for i in errors:
                keep[i] = False
            invalid = [InvalidRow(lines[i], tuple(found)) for i, found in errors.items()]
            rows = list(compress(rows, keep))
            lines = list(compress(lines, keep))
        else:
            invalid = []
        if rejected:
            invalid += rejected
        if len(invalid) > 1:
            invalid.sort(key=_line_of)
        return ValidatedBatch(lines, rows, invalid)

    def _check_duplicates(
        self,
        lines: list[int],
        ids: list[Any],
        errors: dict[int, list[FieldError]],
        keys: KeyTracker,
        ascending: bool | None,
    ) -> None:
        if errors:
            keep = [True] * len(ids)
            for i in errors:
                keep[i] = False
            candidates = list(compress(range(len(ids)), keep))
            found = keys.check(list(compress(lines, keep)), list(compress(ids, keep)), ascending=ascending)
            found = list(map(candidates.__getitem__, found))
        else:
            found = keys.check(lines, ids, ascending=ascending)
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
