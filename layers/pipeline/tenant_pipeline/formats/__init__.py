"""File formats: detection from the object key, limits, and streaming readers.

Every reader consumes byte chunks (never the whole object) and yields `RowBatch`es of rows with
the source line where each row starts. Whole-file problems raise a `FileRejectedError` subclass.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenant_pipeline.formats.batch import RowBatch, RowProblem
from tenant_pipeline.formats.compression import iter_chunks
from tenant_pipeline.formats.csv import CsvReader
from tenant_pipeline.formats.detect import FileFormat, Kind
from tenant_pipeline.formats.errors import (
    CorruptGzipError,
    DecompressedTooLargeError,
    EmptyFileError,
    EncodingError,
    FileRejectedError,
    HeaderError,
    JsonNestingError,
    MalformedCsvError,
    MissingColumnError,
    NotJsonArrayError,
    RecordTooLargeError,
    UnknownColumnError,
    UnsupportedFormatError,
)
from tenant_pipeline.formats.jsonarray import JsonArrayReader
from tenant_pipeline.formats.jsonl import JsonLinesReader
from tenant_pipeline.formats.limits import ReadLimits

__all__ = [
    "CorruptGzipError",
    "CsvReader",
    "DecompressedTooLargeError",
    "EmptyFileError",
    "EncodingError",
    "FileFormat",
    "FileRejectedError",
    "HeaderError",
    "JsonArrayReader",
    "JsonLinesReader",
    "JsonNestingError",
    "Kind",
    "MalformedCsvError",
    "MissingColumnError",
    "NotJsonArrayError",
    "ReadLimits",
    "RecordTooLargeError",
    "RowBatch",
    "RowProblem",
    "UnknownColumnError",
    "UnsupportedFormatError",
    "iter_chunks",
    "json_batches",
]


def json_batches(chunks: Iterator[bytes], fmt: FileFormat, limits: ReadLimits) -> Iterator[RowBatch]:
    """Batches of decoded JSON values from the chunks of a JSON Lines or JSON array file."""
    reader = JsonLinesReader(chunks, limits) if fmt.kind is Kind.JSONL else JsonArrayReader(chunks, limits)
    return reader.batches()
