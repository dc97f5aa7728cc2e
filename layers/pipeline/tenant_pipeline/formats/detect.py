"""Which reader a file needs, from its object key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tenant_pipeline.formats.errors import UnsupportedFormatError


class Kind(StrEnum):
    """Record layouts the readers understand."""

    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"


_SUFFIXES = {".csv": Kind.CSV, ".jsonl": Kind.JSONL, ".ndjson": Kind.JSONL, ".json": Kind.JSON}


@dataclass(frozen=True)
class FileFormat:
    """A record layout plus whether the bytes are gzip-compressed.

    Content that starts with the gzip magic bytes is decompressed even without `.gz` in the key
    (no CSV or JSON text can start with them), so a mislabelled upload is still read safely.
    """

    kind: Kind
    gzip: bool = False

    @property
    def name(self) -> str:
        """Short name for reports and telemetry, e.g. `csv` or `jsonl.gz`."""
        return f"{self.kind.value}.gz" if self.gzip else self.kind.value

    @classmethod
    def from_key(cls, key: str) -> FileFormat:
        """Format named by an object key's suffixes; raises `UnsupportedFormatError`."""
        name = key.rsplit("/", 1)[-1].lower()
        gzip = name.endswith(".gz")
        if gzip:
            name = name[: -len(".gz")]
        for suffix, kind in _SUFFIXES.items():
            if name.endswith(suffix) and len(name) > len(suffix):
                return cls(kind, gzip)
        raise UnsupportedFormatError(
            f"unsupported file type {key.rsplit('/', 1)[-1]!r}: use .csv, .jsonl or .json, optionally .gz"
        )
