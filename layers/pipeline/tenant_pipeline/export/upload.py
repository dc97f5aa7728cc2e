"""Streams one export file into S3 in constant memory, hashing and counting the bytes on the way.

Bytes are buffered until a part is full, then sent with `UploadPart`; the multipart upload is created
only when the first part fills, so a small file is a single `PutObject`. Parts are at least
`MIN_PART_BYTES` (S3's 5 MiB floor) except the last, and grow as the part count rises so a file never
needs more than S3's 10,000 parts. The SHA-256 and byte count are of the object as stored (compressed
when gzip is on), which is what a tenant checks after downloading. Any failure aborts the multipart
upload, so no orphaned parts are left to bill.
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_pipeline.export.errors import UploadFailedError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB
DEFAULT_PART_BYTES = 8 * MIB
MAX_PARTS = 10_000
_PARTS_PER_SIZE_STEP = 1_000
"""Every 1,000 parts the part size doubles: 8 MiB parts reach ~8 GB, and the sum stays far past 5 TB."""


@dataclass(frozen=True)
class UploadResult:
    """An object written by `StreamingUpload`."""

    bucket: str
    key: str
    bytes: int
    sha256: str
    parts: int
    """Multipart parts sent; 0 when the object was small enough for one `PutObject`."""


class StreamingUpload:
    """A write-only stream into one S3 object; use as a context manager or call `close()`/`abort()`."""

    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        key: str,
        *,
        gzip: bool = False,
        content_type: str = "application/octet-stream",
        part_bytes: int = DEFAULT_PART_BYTES,
        metadata: dict[str, str] | None = None,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part size must be at least {MIN_PART_BYTES} bytes, got {part_bytes}")
        self.bucket = bucket
        self.key = key
        self._s3 = s3
        self._part_bytes = part_bytes
        # A gzip file is stored as `application/gzip`, never with `Content-Encoding: gzip`: HTTP clients
        # would inflate it on download and the bytes would no longer match the manifest's checksum.
        self._extra: dict[str, Any] = {
            "ContentType": "application/gzip" if gzip else content_type,
            "Metadata": dict(metadata or {}),
        }
        # wbits=31 writes a gzip container; zlib's header carries no name and a zero mtime, so the
        # same records always give the same bytes and the same checksum.
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if gzip else None
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._result: UploadResult | None = None
        self._closed = False

    # -- the stream ----------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._closed:
            raise ValueError("write to a closed upload")
        if self._compressor is not None:
            data = self._compressor.compress(data)
            if not data:
                return
        self._buffer += data
        if len(self._buffer) >= self._current_part_bytes():
            self._send_part()

    def close(self) -> UploadResult:
        """Flush what is left and complete the object; aborts and raises `UploadFailedError` on failure."""
        if self._result is not None:
            return self._result
        if self._closed:
            raise ValueError("the upload was aborted")
        try:
            if self._compressor is not None:
                self._buffer += self._compressor.flush()
            if self._upload_id is None:
                self._put_whole()
            else:
                if self._buffer:
                    self._send_part()
                self._complete()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        self._result = UploadResult(
            self.bucket, self.key, self._size, self._hash.hexdigest(), len(self._parts)
        )
        return self._result

    def abort(self) -> None:
        """Drop the upload; safe to call more than once and after a failure."""
        self._closed = True
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        # The bucket's lifecycle rule removes incomplete uploads that an abort could not.
        with contextlib.suppress(ClientError, BotoCoreError):
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)

    def __enter__(self) -> StreamingUpload:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._result is None:
            self.close()

    # -- S3 ------------------------------------------------------------------------------------
    def _current_part_bytes(self) -> int:
        return self._part_bytes << (len(self._parts) // _PARTS_PER_SIZE_STEP)

    def _send_part(self) -> None:
        body = bytes(self._buffer)
        self._buffer = bytearray()
        if len(self._parts) >= MAX_PARTS:
            raise UploadFailedError(f"s3://{self.bucket}/{self.key}: more than {MAX_PARTS} parts")
        try:
            if self._upload_id is None:
                created = self._s3.create_multipart_upload(Bucket=self.bucket, Key=self.key, **self._extra)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            reply = self._s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        except (ClientError, BotoCoreError) as exc:
            self.abort()
            raise UploadFailedError(f"s3://{self.bucket}/{self.key}: upload of a part failed: {exc}") from exc
        self._parts.append({"PartNumber": number, "ETag": reply["ETag"]})
        self._hash.update(body)
        self._size += len(body)

    def _complete(self) -> None:
        try:
            self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=str(self._upload_id),
                MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
            )
        except (ClientError, BotoCoreError) as exc:
            raise UploadFailedError(
                f"s3://{self.bucket}/{self.key}: completing the upload failed: {exc}"
            ) from exc
        self._upload_id = None

    def _put_whole(self) -> None:
        body = bytes(self._buffer)
        self._buffer = bytearray()
        try:
            self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, **self._extra)
        except (ClientError, BotoCoreError) as exc:
            raise UploadFailedError(f"s3://{self.bucket}/{self.key}: upload failed: {exc}") from exc
        self._hash.update(body)
        self._size += len(body)
