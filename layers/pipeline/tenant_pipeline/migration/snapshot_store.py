"""The snapshot manifest (what the snapshot holds, and the figures verification must reproduce), the
keys of a snapshot's objects, and the adapter over a region's snapshot bucket."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.migration.errors import (
    MigrationStoreError,
    SnapshotMissingError,
    TransientMigrationError,
)
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code

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


def leg_chunks_key(prefix: str, leg: int) -> str:
    """The chunks one snapshot leg wrote (and its items per entity), joined into the manifest at the end."""
    return f"{prefix}legs/{leg:06d}.json"


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


if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_TRANSIENT_CODES = THROTTLE_CODES | {"InternalError", "ServiceUnavailable", "RequestTimeout"}


def _domain_error(exc: ClientError, action: str) -> Exception:
    code = error_code(exc)
    if code in _MISSING_CODES:
        return SnapshotMissingError(f"{action}: the object does not exist")
    if code in _TRANSIENT_CODES:
        return TransientMigrationError(f"{action}: {code}")
    return MigrationStoreError(f"{action}: {code or 'error'}: {exc}")


class SnapshotStore:
    """Snapshot objects in one bucket."""

    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket = bucket
        self._client = client

    def put(self, key: str, body: bytes, content_type: str = "application/gzip") -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            raise _domain_error(exc, f"write s3://{self.bucket}/{key}") from exc

    def read(self, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            raise _domain_error(exc, f"read s3://{self.bucket}/{key}") from exc

    def copy_from(self, source_bucket: str, key: str) -> None:
        """Server-side copy of `key` from another bucket (in any region) to the same key here."""
        try:
            self._client.copy_object(
                Bucket=self.bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": key}
            )
        except ClientError as exc:
            raise _domain_error(exc, f"copy s3://{source_bucket}/{key} to s3://{self.bucket}") from exc

    def put_manifest(self, prefix: str, manifest: Manifest) -> int:
        body = json.dumps(manifest.to_dict(), indent=2).encode()
        self.put(manifest_key(prefix), body, content_type="application/json")
        return len(body)

    def put_chunk_index(self, prefix: str, manifest: Manifest) -> int:
        body = json.dumps([chunk.index_entry() for chunk in manifest.chunks]).encode()
        self.put(chunk_index_key(prefix), body, content_type="application/json")
        return len(body)

    def put_leg_chunks(
        self, prefix: str, leg: int, chunks: Sequence[ChunkInfo], entity_counts: Mapping[str, int]
    ) -> None:
        document = {"chunks": [chunk.to_dict() for chunk in chunks], "entity_counts": dict(entity_counts)}
        self.put(leg_chunks_key(prefix, leg), json.dumps(document).encode(), content_type="application/json")

    def leg_chunks(self, prefix: str, leg: int) -> tuple[list[ChunkInfo], dict[str, int]]:
        document = json.loads(self.read(leg_chunks_key(prefix, leg)))
        chunks = [ChunkInfo.from_dict(chunk) for chunk in document["chunks"]]
        return chunks, {name: int(count) for name, count in document["entity_counts"].items()}

    def manifest(self, prefix: str) -> Manifest | None:
        """The manifest under `prefix`, or None when the snapshot was never completed."""
        try:
            body = self.read(manifest_key(prefix))
        except SnapshotMissingError:
            return None
        return Manifest.from_dict(json.loads(body))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix`; returns how many."""
        deleted = 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        try:
            while True:
                page = self._client.list_objects_v2(**kwargs)
                keys: Any = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
                if keys:
                    self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                    deleted += len(keys)
                if not page.get("IsTruncated"):
                    return deleted
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except ClientError as exc:
            raise _domain_error(exc, f"delete s3://{self.bucket}/{prefix}") from exc
