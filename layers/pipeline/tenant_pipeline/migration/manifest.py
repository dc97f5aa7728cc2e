"""The snapshot manifest: what the snapshot holds, and the figures verification must reproduce."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MANIFEST_FORMAT = 1


def snapshot_prefix(tenant_id: str, migration_id: str) -> str:
    """Where one migration's snapshot lives, under the same key in the source and target buckets."""
    return f"migrations/{tenant_id}/{migration_id}/"


def chunk_key(prefix: str, number: int) -> str:
    return f"{prefix}chunks/{number:06d}.jsonl.gz"


def chunk_number(prefix: str, key: str) -> int | None:
    """The number `chunk_key` gave `key` (None for a key it did not make under `prefix`)."""
    digits = key.removeprefix(f"{prefix}chunks/").removesuffix(".jsonl.gz")
    return int(digits) if digits.isdigit() and chunk_key(prefix, int(digits)) == key else None


def manifest_key(prefix: str) -> str:
    return f"{prefix}manifest.json"


def chunk_index_key(prefix: str) -> str:
    """The chunk index: a JSON array with one `{"key", "count", "sha256"}` per chunk, which the
    state machine's Distributed Map reads from S3 (so the list never travels in the execution state)."""
    return f"{prefix}chunks.json"


@dataclass(frozen=True)
class ChunkInfo:
    """One gzip-compressed JSON Lines object of items."""

    key: str
    count: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "count": self.count, "bytes": self.bytes, "sha256": self.sha256}

    def index_entry(self) -> dict[str, Any]:
        """What one load step needs to read and check the chunk: its item in the chunk index."""
        return {"key": self.key, "count": self.count, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkInfo:
        return cls(key=data["key"], count=int(data["count"]), bytes=int(data["bytes"]), sha256=data["sha256"])


@dataclass(frozen=True)
class Manifest:
    tenant_id: str
    migration_id: str
    source_region: str
    created_at: str
    record_count: int
    checksum: str
    """Sum modulo 2**256 of the SHA-256 of every item's canonical encoding (see `checksum`)."""
    entity_counts: Mapping[str, int] = field(default_factory=dict)
    chunks: tuple[ChunkInfo, ...] = ()

    @property
    def snapshot_bytes(self) -> int:
        return sum(chunk.bytes for chunk in self.chunks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "tenant_id": self.tenant_id,
            "migration_id": self.migration_id,
            "source_region": self.source_region,
            "created_at": self.created_at,
            "record_count": self.record_count,
            "checksum": self.checksum,
            "checksum_algorithm": "sum-mod-2^256(sha256(canonical item json))",
            "entity_counts": dict(self.entity_counts),
            "chunks": [chunk.to_dict() for chunk in self.chunks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        return cls(
            tenant_id=data["tenant_id"],
            migration_id=data["migration_id"],
            source_region=data["source_region"],
            created_at=data["created_at"],
            record_count=int(data["record_count"]),
            checksum=data["checksum"],
            entity_counts={name: int(count) for name, count in data.get("entity_counts", {}).items()},
            chunks=tuple(ChunkInfo.from_dict(chunk) for chunk in data["chunks"]),
        )
