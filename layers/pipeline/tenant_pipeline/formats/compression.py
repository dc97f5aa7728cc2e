"""Byte chunks from a stream, gunzipped incrementally with the decompressed size capped."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

from tenant_pipeline.formats.errors import CorruptGzipError, DecompressedTooLargeError
from tenant_pipeline.formats.limits import ReadLimits

GZIP_MAGIC = b"\x1f\x8b"


def iter_chunks(stream: BinaryIO, gzip: bool, limits: ReadLimits, *, offset: int = 0) -> Iterator[bytes]:
    """Yield the (decompressed) content in chunks of at most `limits.chunk_bytes`.

    Plain content is gunzipped too when it starts with the gzip magic bytes. The cap counts
    decompressed bytes as they are produced, so a bomb is refused after `max_decompressed_bytes`
    of output, never after inflating it whole. Plain content is not capped here: its size is the
    object's, which admission caps. A `stream` that starts at `offset` of a plain file (a resumed read)
    is never taken for gzip.
    """
    first = stream.read(limits.chunk_bytes)
    if not first:
        return
    if gzip or (offset == 0 and first.startswith(GZIP_MAGIC)):
        yield from _gunzip(first, stream, limits)
        return
    chunk = first
    while chunk:
        yield chunk
        chunk = stream.read(limits.chunk_bytes)


def _gunzip(first: bytes, stream: BinaryIO, limits: ReadLimits) -> Iterator[bytes]:
    cap = limits.max_decompressed_bytes
    size = limits.chunk_bytes
    decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    total = 0
    pending = first
    at_end = False
    while True:
        if not pending and not at_end:
            pending = stream.read(size)
            at_end = not pending
        try:
            # max_length bounds each output chunk; the rest waits in unconsumed_tail.
            out = decomp.decompress(pending, size)
        except zlib.error as exc:
            raise CorruptGzipError(f"corrupt gzip data after {total} decompressed bytes: {exc}") from None
        pending = decomp.unconsumed_tail
        total += len(out)
        if total > cap:
            raise DecompressedTooLargeError(f"decompressed size exceeds the {cap}-byte limit (gzip bomb?)")
        if out:
            yield out
        if decomp.eof:
            # Concatenated gzip members are one file (as `cat a.gz b.gz` produces).
            pending = decomp.unused_data  # (unconsumed_tail repeats these bytes at eof)
            if not pending and not at_end:
                pending = stream.read(size)
                at_end = not pending
            if not pending:
                return
            if not pending.startswith(GZIP_MAGIC[: len(pending)]):
                raise CorruptGzipError("trailing bytes after the end of the gzip stream")
            decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif at_end and not out and not pending:
            raise CorruptGzipError(f"truncated gzip file: the stream ends after {total} decompressed bytes")
