"""An entity schema compiled once into column rules, and the batch validation built on them.

A batch is validated column by column (see `columns`): each column's rule returns its normalised
values and the reasons of the bad ones. Valid rows are then assembled in bulk as tuples in schema
column order (`zip`), never as per-row dicts. A row that fails becomes an `InvalidRow` with one
`FieldError` per failing field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Any

from tenant_pipeline.entities import EntitySchema
from tenant_pipeline.formats.batch import ROW, RowBatch, excerpt
from tenant_pipeline.validation.columns import ColumnRule, compile_column
from tenant_pipeline.validation.duplicates import KeyTracker
from tenant_pipeline.validation.header import match_header
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidatedBatch, ValidRow

Outcome = ValidRow | InvalidRow
DUPLICATE_REASON = "duplicate primary key"


def duplicate_reason(first_line: int | None) -> str:
    """Why a repeat is invalid, naming the line that has the key first (the first occurrence stands)."""
    return f"{DUPLICATE_REASON}: line {first_line} has it first" if first_line else DUPLICATE_REASON


@dataclass(frozen=True)
class CompiledEntity:
    """The rule of every property of one entity, in schema order."""

    entity: EntitySchema
    rules: tuple[ColumnRule, ...]

    def rule(self, name: str) -> ColumnRule:
        return next(rule for rule in self.rules if rule.name == name)

    def for_header(self, header: Sequence[str], mapping: Mapping[str, str] | None = None) -> ColumnPlan:
        """Rules in the order of a CSV header (see `header.match_header` for the names it accepts)."""
        matched = match_header(header, self.entity, mapping)
        rules = {rule.name: rule for rule in self.rules}
        return ColumnPlan(self.entity, tuple(rules[column] for column in matched.columns), matched.renamed)

    def all_columns(self) -> ColumnPlan:
        return ColumnPlan(self.entity, self.rules)


@cache
def compile_entity(entity: EntitySchema) -> CompiledEntity:
    """Compile once per entity and process."""
    props = entity.raw["properties"]
    rules = tuple(compile_column(name, props[name], name in entity.required) for name in entity.columns)
    return CompiledEntity(entity, rules)


class ColumnPlan:
    """Validates batches whose rows carry these columns (CSV cells in this order, or JSON objects)."""

    def __init__(
        self, entity: EntitySchema, rules: tuple[ColumnRule, ...], renamed: Mapping[str, str] | None = None
    ) -> None:
        self.rules = rules
        self.renamed = dict(renamed or {})
        """Header names that differ from the column they fill (aliases and the tenant's mapping)."""
        self.names = tuple(rule.name for rule in rules)
        self._known = frozenset(entity.columns)
        self._key = entity.primary_key
        # Where each schema column comes from in `rules` (-1: absent from the file, always None).
        self._layout = tuple(self.names.index(c) if c in self.names else -1 for c in entity.columns)
        self._key_slot = entity.columns.index(entity.primary_key) if entity.primary_key in self.names else -1

    def validate_csv(self, batch: RowBatch, keys: KeyTracker) -> ValidatedBatch:
        """Validate CSV records (lists of cells in header order); reader problems become invalid rows."""
        kept, lines, rows, rejected = _without_problems(batch)
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(self.rules)
        errors: dict[int, list[FieldError]] = {}
        values = []
        for rule, cells in zip(self.rules, columns, strict=True):
            column, problems = rule.text(cells)
            for i, reason in problems:
                errors.setdefault(i, []).append(FieldError(rule.name, excerpt(cells[i]), reason))
            values.append(column)
        return self._conclude(kept, lines, self._rows(values, len(lines)), errors, rejected, keys=keys)

    def validate_json(self, batch: RowBatch, keys: KeyTracker) -> ValidatedBatch:
        """Validate decoded JSON values; each must be an object whose keys the entity knows."""
        if set(map(type, batch.rows)) - {dict}:
            batch = _reject_non_objects(batch)
        kept, lines, rows, rejected = _without_problems(batch)
        errors: dict[int, list[FieldError]] = {}
        if not self._known.issuperset(chain.from_iterable(rows)):
            for i, row in enumerate(rows):
                extra = [k for k in row if k not in self._known]
                if extra:
                    errors[i] = [
                        FieldError(excerpt(extra[0]), excerpt(row[extra[0]]), "unknown field for this entity")
                    ]
        values = []
        for rule in self.rules:
            cells = list(map(dict.get, rows, repeat(rule.name)))
            column, problems = rule.json(cells)
            for i, reason in problems:
                value = cells[i]
                errors.setdefault(i, []).append(
                    FieldError(rule.name, "" if value is None else excerpt(value), reason)
                )
            values.append(column)
        return self._conclude(kept, lines, self._rows(values, len(lines)), errors, rejected, keys=keys)

    def _rows(self, values: list[list[Any]], count: int) -> list[tuple[Any, ...]]:
        """Row tuples in schema column order from columns in plan order (None for absent columns)."""
        absent = [None] * count
        return list(zip(*[values[i] if i >= 0 else absent for i in self._layout], strict=True))

    def _conclude(
        self,
        kept: Sequence[int],
        lines: list[int],
        rows: list[tuple[Any, ...]],
        errors: dict[int, list[FieldError]],
        rejected: list[tuple[int, InvalidRow]],
        *,
        keys: KeyTracker,
    ) -> ValidatedBatch:
        """Check the primary keys of the otherwise valid rows, then split valid from invalid.

        `kept[i]` is the batch position of row `i` (the reader's rejections, at their positions, aside)."""
        if self._key_slot >= 0 and lines:
            self._check_keys(lines, rows, errors, keys)
        invalid = rejected
        if errors:
            keep = [True] * len(lines)
            for i in errors:
                keep[i] = False
            invalid = invalid + [(kept[i], InvalidRow(lines[i], tuple(found))) for i, found in errors.items()]
            rows = list(compress(rows, keep))
            lines = list(compress(lines, keep))
        if len(invalid) > 1:
            invalid.sort(key=itemgetter(0))
        read = len(kept) + len(rejected)
        return ValidatedBatch(lines, rows, [row for _, row in invalid], [at for at, _ in invalid], read)

    def _check_keys(
        self,
        lines: list[int],
        rows: list[tuple[Any, ...]],
        errors: dict[int, list[FieldError]],
        keys: KeyTracker,
    ) -> None:
        """A row repeating the key of an earlier valid row is invalid (the first occurrence stands)."""
        key_of = itemgetter(self._key_slot)
        if errors:
            candidates = [i for i in range(len(lines)) if i not in errors]
            repeats = keys.check([lines[i] for i in candidates], [key_of(rows[i]) for i in candidates])
            found = [candidates[p] for p in repeats]
        else:
            found = keys.check(lines, list(map(key_of, rows)))
        for i in found:
            key = key_of(rows[i])
            errors[i] = [FieldError(self._key, excerpt(key), duplicate_reason(keys.first_line(key)))]


def _without_problems(
    batch: RowBatch,
) -> tuple[Sequence[int], list[int], list[Any], list[tuple[int, InvalidRow]]]:
    """The positions, lines and rows the reader accepted, and its rejections as (position, invalid row)."""
    if not batch.problems:
        return range(len(batch.rows)), batch.lines, batch.rows, []
    rejected = [(i, InvalidRow(batch.lines[i], (FieldError(*p),))) for i, p in sorted(batch.problems.items())]
    keep = [i not in batch.problems for i in range(len(batch.rows))]
    kept = list(compress(range(len(batch.rows)), keep))
    return kept, list(compress(batch.lines, keep)), list(compress(batch.rows, keep)), rejected


def _reject_non_objects(batch: RowBatch) -> RowBatch:
    problems = dict(batch.problems)
    for i, row in enumerate(batch.rows):
        if i not in problems and not isinstance(row, dict):
            what = {list: "an array", str: "a string", type(None): "null"}.get(type(row), "a number")
            problems[i] = (ROW, excerpt(row), f"not a JSON object (got {what})")
    return RowBatch(batch.lines, batch.rows, problems)
