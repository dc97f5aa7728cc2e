"""Adapter over a region's snapshot bucket: chunk objects and the manifest."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.migration.errors import (
    MigrationStoreError,
    SnapshotMissingError,
    TransientMigrationError,
)
from tenant_pipeline.migration.manifest import Manifest, chunk_index_key, manifest_key
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code

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
