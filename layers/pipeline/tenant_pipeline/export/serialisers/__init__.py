"""Record serialisers, one per export format, each streaming bytes in chunks of bounded size."""

from __future__ import annotations

from collections.abc import Sequence

from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.export.serialisers.base import CHUNK_BYTES, Serialiser
from tenant_pipeline.export.serialisers.csv import CsvSerialiser
from tenant_pipeline.export.serialisers.json_array import JsonArraySerialiser
from tenant_pipeline.export.serialisers.jsonl import JsonLinesSerialiser

__all__ = [
    "CHUNK_BYTES",
    "CsvSerialiser",
    "JsonArraySerialiser",
    "JsonLinesSerialiser",
    "Serialiser",
    "serialiser_for",
]


def serialiser_for(fmt: ExportFormat, columns: Sequence[str]) -> Serialiser:
    """The serialiser of a format, writing the given columns (schema order) of each record."""
    if fmt is ExportFormat.CSV:
        return CsvSerialiser(columns)
    if fmt is ExportFormat.JSONL:
        return JsonLinesSerialiser(columns)
    return JsonArraySerialiser(columns)
