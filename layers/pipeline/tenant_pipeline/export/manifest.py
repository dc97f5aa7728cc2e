"""The export manifest: what each file holds and how to check it (`manifest.json` next to the files)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

from tenant_pipeline.export.errors import ChecksumMismatchError

MANIFEST_VERSION = 1
_READ_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ManifestFile:
    """One exported file: one entity type of one tenant in one format."""

    entity: str
    file_name: str
    key: str
    format: str
    gzip: bool
    record_count: int
    bytes: int
    sha256: str
    schema_version: str
    exported_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "file_name": self.file_name,
            "key": self.key,
            "format": self.format,
            "compression": "gzip" if self.gzip else None,
            "record_count": self.record_count,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "schema_version": self.schema_version,
            "exported_at": self.exported_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManifestFile:
        return cls(
            entity=str(data["entity"]),
            file_name=str(data["file_name"]),
            key=str(data["key"]),
            format=str(data["format"]),
            gzip=data.get("compression") == "gzip",
            record_count=int(data["record_count"]),
            bytes=int(data["bytes"]),
            sha256=str(data["sha256"]),
            schema_version=str(data["schema_version"]),
            exported_at=str(data["exported_at"]),
        )

    def check(self, stream: BinaryIO) -> None:
        """Raise `ChecksumMismatchError` unless the stream's bytes have this file's size and SHA-256."""
        digest = hashlib.sha256()
        size = 0
        while chunk := stream.read(_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
        if size != self.bytes:
            raise ChecksumMismatchError(f"{self.file_name}: {size} bytes, the manifest says {self.bytes}")
        if digest.hexdigest() != self.sha256:
            raise ChecksumMismatchError(
                f"{self.file_name}: SHA-256 {digest.hexdigest()}, the manifest says {self.sha256}"
            )


@dataclass(frozen=True)
class ExportManifest:
    """Every file of one export job, with the job's identity and times."""

    job_id: str
    tenant_id: str
    format: str
    gzip: bool
    started_at: str
    finished_at: str
    files: tuple[ManifestFile, ...] = field(default_factory=tuple)
    version: int = MANIFEST_VERSION

    @property
    def total_records(self) -> int:
        return sum(entry.record_count for entry in self.files)

    @property
    def entities(self) -> list[str]:
        return [entry.entity for entry in self.files]

    def file(self, entity: str) -> ManifestFile:
        return next(entry for entry in self.files if entry.entity == entity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_version": self.version,
            "job_id": self.job_id,
            "tenant_id": self.tenant_id,
            "format": self.format,
            "compression": "gzip" if self.gzip else None,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "total_records": self.total_records,
            "files": [entry.to_dict() for entry in self.files],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportManifest:
        files: Sequence[Mapping[str, Any]] = data.get("files", ())
        return cls(
            job_id=str(data["job_id"]),
            tenant_id=str(data["tenant_id"]),
            format=str(data["format"]),
            gzip=data.get("compression") == "gzip",
            started_at=str(data["started_at"]),
            finished_at=str(data["finished_at"]),
            files=tuple(ManifestFile.from_dict(entry) for entry in files),
            version=int(data.get("manifest_version", MANIFEST_VERSION)),
        )

    @classmethod
    def from_json(cls, raw: bytes) -> ExportManifest:
        return cls.from_dict(orjson.loads(raw))
