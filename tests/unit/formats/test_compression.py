from __future__ import annotations

import gzip
import io

import pytest

from tenant_pipeline.formats import CorruptGzipError, DecompressedTooLargeError, ReadLimits, iter_chunks

DATA = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(20000))
SMALL = ReadLimits(chunk_bytes=4096)


def _read(data: bytes, gz: bool, limits: ReadLimits = SMALL) -> bytes:
    return b"".join(iter_chunks(io.BytesIO(data), gz, limits))


def test_gunzips_incrementally_in_bounded_chunks() -> None:
    chunks = list(iter_chunks(io.BytesIO(gzip.compress(DATA)), True, SMALL))
    assert b"".join(chunks) == DATA
    assert max(map(len, chunks)) <= SMALL.chunk_bytes


def test_concatenated_members_are_one_file() -> None:
    assert _read(gzip.compress(DATA) + gzip.compress(b"tail\n"), True) == DATA + b"tail\n"


def test_gzip_content_is_detected_without_gz_suffix() -> None:
    assert _read(gzip.compress(DATA), False) == DATA


def test_plain_content_passes_through() -> None:
    assert _read(DATA, False) == DATA


@pytest.mark.parametrize("cut", [10, 100, 2000])
def test_truncated_gzip_is_a_clear_error(cut: int) -> None:
    with pytest.raises(CorruptGzipError, match="truncated gzip"):
        _read(gzip.compress(DATA)[:-cut], True)


def test_trailing_garbage_is_rejected() -> None:
    with pytest.raises(CorruptGzipError, match="trailing bytes"):
        _read(gzip.compress(DATA) + b"junk", True)


def test_gzip_bomb_is_refused_at_the_cap() -> None:
    # Given 50 MB of zeros compressed to ~50 KB, and a 1 MB cap
    bomb = gzip.compress(b"\0" * 50_000_000)
    limits = ReadLimits(max_decompressed_bytes=1_000_000, chunk_bytes=65536)
    produced = 0
    # When it is read, Then it stops with a clear error soon after the cap
    with pytest.raises(DecompressedTooLargeError, match="1000000-byte limit"):
        for chunk in iter_chunks(io.BytesIO(bomb), True, limits):
            produced += len(chunk)
    assert produced <= 1_000_000


def test_a_plain_file_is_not_held_to_the_gzip_cap() -> None:
    # Admission caps a plain file by its object size; the decompressed cap is for gzip alone
    assert _read(DATA, False, ReadLimits(max_decompressed_bytes=1000, chunk_bytes=512)) == DATA
