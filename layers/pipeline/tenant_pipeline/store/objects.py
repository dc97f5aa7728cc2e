"""S3 objects the pipeline reads and writes: import files, claim checks, error reports."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from botocore.exceptions import ClientError

from tenant_pipeline.errors import ObjectChangedError, ObjectMissingError
from tenant_pipeline.store.client_errors import as_store_error, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchVersion"})
_CHANGED = frozenset({"PreconditionFailed", "412"})


@dataclass
class OpenedObject:
    """An object being read: its body stream (close it) and what the GET said about it."""

    body: BinaryIO
    size: int
    etag: str
    version_id: str | None
    metadata: Mapping[str, str]

    def close(self) -> None:
        self.body.close()


class ObjectStore:
    """Adapter over S3 for the pipeline's objects."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def open(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        etag: str | None = None,
        start: int = 0,
    ) -> OpenedObject:
        """Start a streaming GET of exactly the notified object version (or ETag), from byte `start`
        (a ranged GET: `size` is then the rest's)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start:
            kwargs["Range"] = f"bytes={start}-"
        if version_id:
            kwargs["VersionId"] = version_id
        elif etag:
            kwargs["IfMatch"] = etag if etag.startswith('"') else f'"{etag}"'
        try:
            reply = self._client.get_object(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code in _MISSING:
                raise ObjectMissingError("the object was deleted before it could be read") from None
            if code in _CHANGED:
                raise ObjectChangedError(
                    "the object was replaced before it could be read; its new version has its own job"
                ) from None
            raise as_store_error(exc, "read object") from exc
        return OpenedObject(
            body=reply["Body"],  # type: ignore[arg-type]
            size=int(reply.get("ContentLength", 0)),
            etag=str(reply.get("ETag", "")).strip('"'),
            version_id=reply.get("VersionId"),
            metadata=reply.get("Metadata", {}),
        )

    def get_bytes(self, bucket: str, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise ObjectMissingError(f"s3://{bucket}/{key} does not exist") from None
            raise as_store_error(exc, "read object") from exc

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = "application/json") -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            raise as_store_error(exc, "write object") from exc

    def download_to(self, bucket: str, key: str, file: IO[bytes]) -> None:
        """Append an object to a file, streamed: memory holds one buffer of it."""
        try:
            shutil.copyfileobj(self._client.get_object(Bucket=bucket, Key=key)["Body"], file)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise ObjectMissingError(f"s3://{bucket}/{key} does not exist") from None
            raise as_store_error(exc, "read object") from exc

    def upload_file(self, bucket: str, key: str, file: IO[bytes], content_type: str) -> str:
        """Upload a file object (multipart when large); returns its `s3://` URI."""
        try:
            self._client.upload_fileobj(file, bucket, key, ExtraArgs={"ContentType": content_type})
        except ClientError as exc:
            raise as_store_error(exc, "upload object") from exc
        return f"s3://{bucket}/{key}"

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return False
            raise as_store_error(exc, "read object") from exc
        return True

    # -- multipart upload, one part at a time across invocations ------------------------------------
    def start_upload(self, bucket: str, key: str, content_type: str) -> str:
        """Begin a multipart upload whose parts may come from several invocations; returns its id."""
        try:
            return self._client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)[
                "UploadId"
            ]
        except ClientError as exc:
            raise as_store_error(exc, "start upload") from exc

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> None:
        """Upload (or upload again: the last one stands) part `number` of a multipart upload."""
        try:
            self._client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        except ClientError as exc:
            raise as_store_error(exc, "upload part") from exc

    def complete_upload(self, bucket: str, key: str, upload_id: str) -> str:
        """Join the parts uploaded so far, as S3 lists them; returns the object's `s3://` URI."""
        try:
            parts: list[dict[str, Any]] = []
            pages = self._client.get_paginator("list_parts").paginate(
                Bucket=bucket, Key=key, UploadId=upload_id
            )
            for page in pages:
                parts += ({"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in page.get("Parts", []))
            self._client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except ClientError as exc:
            raise as_store_error(exc, "complete upload") from exc
        return f"s3://{bucket}/{key}"

    def read_range(self, bucket: str, key: str, start: int, size: int) -> bytes:
        """Up to `size` bytes of an object from byte `start` (fewer at its end; none past it)."""
        try:
            reply = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{start + size - 1}")
        except ClientError as exc:
            if error_code(exc) == "InvalidRange":
                return b""
            if error_code(exc) in _MISSING:
                raise ObjectMissingError(f"s3://{bucket}/{key} does not exist") from None
            raise as_store_error(exc, "read object") from exc
        return reply["Body"].read()
