"""One streaming pass from bytes to outcomes: in bulk (`validate_batches`) or per row (`validate_stream`)."""

from __future__ import annotations

import pickle
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import is_, itemgetter
from typing import IO, Any, BinaryIO

from tenant_pipeline.entities import EntitySchema
from tenant_pipeline.formats import (
    CsvReader,
    EmptyFileError,
    FileFormat,
    JsonLinesReader,
    Kind,
    ReadLimits,
    iter_chunks,
    json_batches,
)
from tenant_pipeline.formats.batch import RowBatch, excerpt
from tenant_pipeline.formats.csv import ResumePoint
from tenant_pipeline.validation.compiler import Outcome, compile_entity, duplicate_reason
from tenant_pipeline.validation.duplicates import KeyTracker, LateDuplicate
from tenant_pipeline.validation.outcomes import FieldError, InvalidRow, ValidatedBatch, make_valid


@dataclass
class PassClock:
    """Where a pass's time went besides reading and parsing: `check_s` in the compiled column rules and
    the key tracker. Measured around each batch's check, in the one pass, for `tenantctl explain`."""

    check_s: float = 0.0


@dataclass(frozen=True)
class ReadCheckpoint:
    """Where a pass stopped, so another invocation reads on from there: the byte offset of the next
    record in the object, the lines before it, and the header the pass read (CSV)."""

    offset: int
    line: int
    header: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        header = list(self.header) if self.header is not None else None
        return {"offset": self.offset, "line": self.line, "header": header}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReadCheckpoint:
        header = data.get("header")
        return cls(int(data["offset"]), int(data["line"]), tuple(map(str, header)) if header else None)


def resumable(fmt: FileFormat) -> bool:
    """Whether a pass over this format can stop at a record and go on from a ranged read: CSV and JSON
    Lines as they are (a gzip stream or one JSON document has no place to start reading in the middle)."""
    return not fmt.gzip and fmt.kind in (Kind.CSV, Kind.JSONL)


class ValidationPass:
    """The batches of one pass over a file (or over the rest of it, from a `start` checkpoint).

    A CSV header's names may be aliases or names the tenant maps (`mapping`, header name -> column);
    `renamed`, when given, receives the header names that were matched to another column name.

    Reads `stream` in chunks (memory stays flat), decompressing when needed. `keys` remembers
    the primary keys seen, so a later duplicate is invalid; once it has spilled
    (`keys.spilled`), rows after that point may still prove to be duplicates, which
    `keys.later_duplicates()` lists after the pass. Whole-file problems raise a
    `FileRejectedError` subclass, possibly after some batches were yielded (e.g. a truncated
    gzip): callers must treat the file as rejected as a whole then.

    With `start`, `stream` holds the object from `start.offset` on (a ranged read); after any batch,
    `checkpoint()` says where the next one starts.
    """

    def __init__(
        self,
        stream: BinaryIO,
        fmt: FileFormat,
        entity: EntitySchema,
        limits: ReadLimits | None = None,
        *,
        keys: KeyTracker,
        mapping: Mapping[str, str] | None = None,
        renamed: dict[str, str] | None = None,
        clock: PassClock | None = None,
        start: ReadCheckpoint | None = None,
    ) -> None:
        if start is not None and not resumable(fmt):
            raise ValueError(f"a {fmt.name} file cannot be read from the middle")
        self._stream, self._fmt, self._entity = stream, fmt, entity
        self._limits = limits or ReadLimits()
        self._keys, self._mapping, self._renamed, self._clock = keys, mapping, renamed, clock
        self._start = start
        self._reader: CsvReader | JsonLinesReader | None = None

    def checkpoint(self) -> ReadCheckpoint | None:
        """Where the record after the last batch yielded starts (None when not known there)."""
        reader = self._reader
        point = reader.resume_point() if reader is not None and resumable(self._fmt) else None
        if point is None:
            return None
        header = tuple(reader.header) if isinstance(reader, CsvReader) else None
        return ReadCheckpoint(point.offset, point.line, header)

    def __iter__(self) -> Iterator[ValidatedBatch]:
        limits, start = self._limits, self._start
        compiled = compile_entity(self._entity)
        point = None if start is None else ResumePoint(start.offset, start.line)
        chunks = iter_chunks(self._stream, self._fmt.gzip, limits, offset=point.offset if point else 0)
        if self._fmt.kind is Kind.CSV:
            reader = CsvReader(chunks, limits, header=start.header if start else None, start=point)
            self._reader = reader
            plan = compiled.for_header(reader.header, self._mapping)
            if self._renamed is not None:
                self._renamed.update(plan.renamed)
            parsed: Iterator[RowBatch] = reader.batches()
            check: Callable[[RowBatch, KeyTracker], ValidatedBatch] = plan.validate_csv
            nothing = "file has a header but no data rows"
        else:
            plan = compiled.all_columns()
            if self._fmt.kind is Kind.JSONL:
                lines_reader = JsonLinesReader(chunks, limits, start=point)
                self._reader = lines_reader
                parsed = lines_reader.batches()
            else:
                parsed = json_batches(chunks, self._fmt, limits)
            check = plan.validate_json
            nothing = "file holds no records"
        rows = 0
        for records in parsed:
            started = time.perf_counter()
            batch = check(records, self._keys)
            if self._clock is not None:
                self._clock.check_s += time.perf_counter() - started
            rows += batch.total
            yield batch
        if not rows and start is None:  # (a pass resumes only after records)
            raise EmptyFileError(nothing)


def validate_batches(
    stream: BinaryIO,
    fmt: FileFormat,
    entity: EntitySchema,
    limits: ReadLimits | None = None,
    *,
    keys: KeyTracker,
    mapping: Mapping[str, str] | None = None,
    renamed: dict[str, str] | None = None,
    clock: PassClock | None = None,
) -> Iterator[ValidatedBatch]:
    """A `ValidatedBatch` for every batch of records of the file, in file order (see `ValidationPass`)."""
    return iter(
        ValidationPass(stream, fmt, entity, limits, keys=keys, mapping=mapping, renamed=renamed, clock=clock)
    )


def validate_stream(
    stream: BinaryIO,
    fmt: FileFormat,
    entity: EntitySchema,
    limits: ReadLimits | None = None,
    *,
    keys: KeyTracker | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Iterator[Outcome]:
    """Yield a `ValidRow` or `InvalidRow` for every row of the file, in file order.

    Built on `validate_batches`; records are dicts without the missing values. While the key
    tracker holds every key in memory rows stream through; once it spills, that batch and the
    following ones wait in a temporary file until the later duplicates are known (memory stays flat).
    `keys` (default: a new `KeyTracker`) is closed at the end.
    """
    names = entity.columns
    tracker = keys if keys is not None else KeyTracker()  # (an empty tracker is falsy: it has a len)
    with tracker:
        held: IO[bytes] | None = None
        streamed = 0  # valid rows yielded before batches were held
        try:
            for batch in validate_batches(stream, fmt, entity, limits, keys=tracker, mapping=mapping):
                if held is None and not tracker.spilled:
                    streamed += len(batch.rows)
                    yield from _outcomes(batch, names)
                    continue
                # From the batch in which the tracker spilled on (some of its rows may have been spilled
                # and repeat each other), batches wait until the later duplicates are known.
                if held is None:
                    held = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
                pickle.dump(batch, held, protocol=pickle.HIGHEST_PROTOCOL)
            if held is not None:
                yield from _replay(held, tracker, entity.primary_key, names, first_ordinal=streamed)
        finally:
            if held is not None:
                held.close()


def _replay(
    held: IO[bytes], keys: KeyTracker, key: str, names: tuple[str, ...], *, first_ordinal: int
) -> Iterator[Outcome]:
    """Outcomes of the held batches, later duplicates made invalid (`first_ordinal`: the first row's)."""
    held.flush()
    held.seek(0)

    def batches() -> Iterator[ValidatedBatch]:
        while True:
            try:
                yield pickle.load(held)
            except EOFError:
                return

    return settle(batches(), keys.later_duplicates(), key, names, first_ordinal=first_ordinal)


def settle(
    batches: Iterable[ValidatedBatch],
    late: Iterator[LateDuplicate],
    key: str,
    names: tuple[str, ...],
    *,
    first_ordinal: int = 0,
) -> Iterator[Outcome]:
    """Per-row outcomes of batches whose valid rows start at `first_ordinal`, the later duplicates
    `late` (ascending ordinals) made invalid."""
    pending = next(late, None)
    for batch in batches:
        end_ordinal = first_ordinal + len(batch.rows)
        found: dict[int, LateDuplicate] = {}
        while pending is not None and pending.ordinal < end_ordinal:
            found[pending.ordinal - first_ordinal] = pending
            pending = next(late, None)
        first_ordinal = end_ordinal
        if found:
            _move_late_duplicates(batch, found, key)
        yield from _outcomes(batch, names)


def _move_late_duplicates(batch: ValidatedBatch, found: dict[int, LateDuplicate], key: str) -> None:
    """Turn the valid rows at the positions of `found` into invalid ones, keeping every row's position."""
    taken = set(batch.invalid_at)
    valid_at = [at for at in range(batch.total) if at not in taken]
    invalid = list(zip(batch.invalid_at, batch.invalid, strict=True))
    invalid += [
        (valid_at[i], InvalidRow(batch.lines[i], (_late_error(key, late),))) for i, late in found.items()
    ]
    invalid.sort(key=itemgetter(0))
    keep = [i not in found for i in range(len(batch.rows))]
    batch.lines = list(compress(batch.lines, keep))
    batch.rows = list(compress(batch.rows, keep))
    batch.invalid = [row for _, row in invalid]
    batch.invalid_at = [at for at, _ in invalid]


def _late_error(key: str, late: LateDuplicate) -> FieldError:
    return FieldError(key, excerpt(late.key), duplicate_reason(late.first_line))


def _outcomes(batch: ValidatedBatch, names: tuple[str, ...]) -> list[Outcome]:
    """Per-row outcomes of a batch in file order; records built in bulk, missing values dropped."""
    records = list(map(dict, map(zip, repeat(names), batch.rows)))
    if records:
        for name, column in zip(names, zip(*batch.rows, strict=True), strict=True):
            if None in column:
                for record in compress(records, map(is_, column, repeat(None))):
                    del record[name]
    valid: list[Outcome] = list(map(make_valid, zip(batch.lines, records, strict=True)))
    if not batch.invalid:
        return valid
    outcomes: list[Outcome] = []
    rest = iter(valid)
    for at, invalid in zip(batch.invalid_at, batch.invalid, strict=True):
        outcomes.extend(islice(rest, at - len(outcomes)))
        outcomes.append(invalid)
    outcomes.extend(rest)
    return outcomes


class Leg:
    """One invocation's share of a pass: its batches until `out_of_time()` says stop, checked after
    each batch, at the first batch end whose checkpoint is known (`stopped_at`; None once the file
    is read to its end). A leg always reads at least one batch, so every leg makes progress."""

    def __init__(self, validation: ValidationPass, out_of_time: Callable[[], bool]) -> None:
        self._validation = validation
        self._out_of_time = out_of_time
        self.stopped_at: ReadCheckpoint | None = None

    def __iter__(self) -> Iterator[ValidatedBatch]:
        for batch in self._validation:
            yield batch
            if self._out_of_time():
                point = self._validation.checkpoint()
                if point is not None:
                    self.stopped_at = point
                    return
