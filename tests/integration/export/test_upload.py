from __future__ import annotations

import gzip
import hashlib
import os
from typing import Any

import pytest

from tenant_pipeline.export import StreamingUpload, UploadFailedError
from tenant_pipeline.export.upload import MIN_PART_BYTES
from tests.integration.export.conftest import ExportWorld


class RecordingS3:
    """Forwards to a real client, recording each call and failing the chosen `upload_part` call."""

    def __init__(self, client: Any, fail_part: int | None = None) -> None:
        self._client = client
        self._fail_part = fail_part
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name == "upload_part" and kwargs["PartNumber"] == self._fail_part:
                raise self._client.exceptions.NoSuchUpload(
                    {"Error": {"Code": "NoSuchUpload", "Message": "injected"}}, "UploadPart"
                )
            return method(**kwargs)

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def part_sizes(self) -> list[int]:
        return [len(kwargs["Body"]) for name, kwargs in self.calls if name == "upload_part"]


def chunks(total: int, size: int = 256 * 1024) -> list[bytes]:
    data = os.urandom(total)
    return [data[i : i + size] for i in range(0, total, size)]


def test_small_file_is_one_put_with_its_checksum(world: ExportWorld) -> None:
    s3 = RecordingS3(world.s3)
    with StreamingUpload(s3, world.bucket, "small.csv", content_type="text/csv") as upload:  # type: ignore[arg-type]
        upload.write(b"id,name\r\n")
        upload.write(b"1,Ada\r\n")
    result = upload.close()
    body = world.read("small.csv")
    assert body == b"id,name\r\n1,Ada\r\n"
    assert result.bytes == len(body)
    assert result.sha256 == hashlib.sha256(body).hexdigest()
    assert result.parts == 0
    assert s3.names() == ["put_object"]


def test_large_file_goes_in_parts_of_at_least_5_mib_except_the_last(world: ExportWorld) -> None:
    s3 = RecordingS3(world.s3)
    pieces = chunks(2 * MIN_PART_BYTES + 123_457)
    with StreamingUpload(s3, world.bucket, "big.bin", part_bytes=MIN_PART_BYTES) as upload:  # type: ignore[arg-type]
        for piece in pieces:
            upload.write(piece)
    result = upload.close()
    expected = b"".join(pieces)
    sizes = s3.part_sizes()
    assert len(sizes) == 3
    assert all(size >= MIN_PART_BYTES for size in sizes[:-1])
    assert sum(sizes) == len(expected) == result.bytes
    assert result.parts == 3
    assert result.sha256 == hashlib.sha256(expected).hexdigest()
    assert world.read("big.bin") == expected
    assert s3.names()[0] == "create_multipart_upload"
    assert s3.names()[-1] == "complete_multipart_upload"


def test_gzip_checksum_is_of_the_stored_compressed_bytes(world: ExportWorld) -> None:
    plain = b"".join(f"{i},name {i}\r\n".encode() for i in range(50_000))
    with StreamingUpload(world.s3, world.bucket, "data.csv.gz", gzip=True) as upload:
        for i in range(0, len(plain), 10_000):
            upload.write(plain[i : i + 10_000])
    result = upload.close()
    stored = world.read("data.csv.gz")
    assert gzip.decompress(stored) == plain
    assert result.sha256 == hashlib.sha256(stored).hexdigest()
    assert result.bytes == len(stored) < len(plain)
    head = world.s3.head_object(Bucket=world.bucket, Key="data.csv.gz")
    assert head["ContentType"] == "application/gzip"
    assert "ContentEncoding" not in head  # HTTP clients must not inflate it on download


def test_same_input_gives_the_same_gzip_bytes(world: ExportWorld) -> None:
    digests = set()
    for key in ("a.gz", "b.gz"):
        with StreamingUpload(world.s3, world.bucket, key, gzip=True) as upload:
            upload.write(b"same records\n" * 1000)
        digests.add(upload.close().sha256)
    assert len(digests) == 1


def test_a_failed_part_aborts_the_multipart_upload(world: ExportWorld) -> None:
    s3 = RecordingS3(world.s3, fail_part=2)
    upload = StreamingUpload(s3, world.bucket, "broken.bin", part_bytes=MIN_PART_BYTES)  # type: ignore[arg-type]
    with pytest.raises(UploadFailedError, match=r"broken\.bin"):
        for piece in chunks(3 * MIN_PART_BYTES):
            upload.write(piece)
    assert "abort_multipart_upload" in s3.names()
    assert world.s3.list_multipart_uploads(Bucket=world.bucket).get("Uploads", []) == []
    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket, Prefix="broken.bin")


def test_an_error_while_streaming_aborts_the_upload(world: ExportWorld) -> None:
    s3 = RecordingS3(world.s3)
    upload = StreamingUpload(s3, world.bucket, "half.bin", part_bytes=MIN_PART_BYTES)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="reader died"), upload:
        for piece in chunks(MIN_PART_BYTES + 1024):
            upload.write(piece)
        raise RuntimeError("reader died")
    assert "abort_multipart_upload" in s3.names()
    assert world.s3.list_multipart_uploads(Bucket=world.bucket).get("Uploads", []) == []
    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket, Prefix="half.bin")


def test_part_size_below_the_s3_floor_is_refused(world: ExportWorld) -> None:
    with pytest.raises(ValueError, match="at least"):
        StreamingUpload(world.s3, world.bucket, "x", part_bytes=MIN_PART_BYTES - 1)
