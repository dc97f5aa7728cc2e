"""`validate_stream`: one streaming pass from bytes to per-row outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from tenant_pipeline.entities import EntitySchema
from tenant_pipeline.formats import (
    CsvReader,
    EmptyFileError,
    FileFormat,
    Kind,
    ReadLimits,
    iter_chunks,
    json_batches,
)
from tenant_pipeline.validation.compiler import Outcome, compile_entity
from tenant_pipeline.validation.duplicates import KeyTracker


def validate_stream(
    stream: BinaryIO, fmt: FileFormat, entity: EntitySchema, limits: ReadLimits | None = None
) -> Iterator[Outcome]:
    """Yield a `ValidRow` or `InvalidRow` for every row of the file, in file order.

    Reads `stream` in chunks (memory stays flat), decompressing when needed, and remembers the
    primary keys seen so that a later duplicate is invalid. Whole-file problems raise a
    `FileRejectedError` subclass, possibly after some rows were yielded (e.g. a truncated gzip):
    callers must treat the file as rejected as a whole then.
    """
    limits = limits or ReadLimits()
    compiled = compile_entity(entity)
    keys = KeyTracker()
    chunks = iter_chunks(stream, fmt.gzip, limits)
    rows = 0
    if fmt.kind is Kind.CSV:
        reader = CsvReader(chunks, limits)
        plan = compiled.for_header(reader.header)
        for batch in reader.batches():
            outcomes = plan.validate_text(batch, keys)
            rows += len(outcomes)
            yield from outcomes
        if not rows:
            raise EmptyFileError("file has a header but no data rows")
        return
    plan = compiled.all_columns()
    for batch in json_batches(chunks, fmt, limits):
        outcomes = plan.validate_json(batch, keys)
        rows += len(outcomes)
        yield from outcomes
    if not rows:
        raise EmptyFileError("file holds no records")
