"""Streaming JSON Lines reader: one JSON value per line, blank lines skipped.

Lines are split as bytes and handed to orjson whole batches at a time; only a batch holding a
bad line falls back to line-by-line decoding. A line that does not parse is a row error; a line
that is not valid UTF-8 rejects the file (an encoding problem is never confined to one row).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress
from typing import Any

import orjson

from tenant_pipeline.formats.batch import ROW, RowBatch, RowProblem, excerpt
from tenant_pipeline.formats.errors import EncodingError
from tenant_pipeline.formats.limits import ReadLimits

_BOM = b"\xef\xbb\xbf"


class JsonLinesReader:
    """Yields `RowBatch`es of decoded JSON values (objects are checked by the validator)."""

    def __init__(self, chunks: Iterator[bytes], limits: ReadLimits) -> None:
        self._chunks = chunks
        self._limits = limits

    def batches(self) -> Iterator[RowBatch]:
        for lines, raw in self.raw_batches():
            yield self.decode(lines, raw)

    def raw_batches(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """(line numbers, undecoded lines) per batch, blank lines dropped; over-long lines come as b""."""
        lines: list[int] = []
        raw: list[bytes] = []
        size = self._limits.batch_rows
        for numbers, parts in self._line_groups():
            lines += numbers
            raw += parts
            while len(raw) >= size:
                yield lines[:size], raw[:size]
                del lines[:size], raw[:size]
        if raw:
            yield lines, raw

    def _line_groups(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """(line numbers, contents) of the non-blank lines, a chunk at a time; over-long lines come as b"".

        A chunk's complete lines are split and filtered with C-level operations; only a chunk
        holding an over-long line (or ending one) goes line by line.
        """
        cap = self._limits.max_line_bytes
        pending = b""
        line_no = 0
        first = True
        skipping = False
        for raw in self._chunks:
            chunk = raw.removeprefix(_BOM) if first else raw
            first = False
            parts = chunk.split(b"\n")
            parts[0] = pending + parts[0]
            pending = parts.pop()
            if parts and not skipping and max(map(len, parts)) <= cap:
                numbers = range(line_no + 1, line_no + len(parts) + 1)
                line_no += len(parts)
                if b"" in parts or True in map(bytes.isspace, parts):
                    keep = [bool(part) and not part.isspace() for part in parts]
                    yield list(compress(numbers, keep)), list(compress(parts, keep))
                else:
                    yield list(numbers), parts
            elif parts:
                numbers_out: list[int] = []
                kept: list[bytes] = []
                for part in parts:
                    line_no += 1
                    if skipping or len(part) > cap:
                        skipping = False
                        numbers_out.append(line_no)
                        kept.append(b"")
                    elif part and not part.isspace():
                        numbers_out.append(line_no)
                        kept.append(part)
                yield numbers_out, kept
            if len(pending) > cap:
                skipping = True
                pending = b""
        if skipping:
            yield [line_no + 1], [b""]
        elif pending and not pending.isspace():
            yield [line_no + 1], [pending]

    def decode(self, lines: list[int], raw: list[bytes]) -> RowBatch:
        """The batch's lines decoded (orjson); lines that do not decode become row problems."""
        try:
            if b"" not in raw:
                return RowBatch(lines, list(map(orjson.loads, raw)))
        except orjson.JSONDecodeError:
            pass
        rows: list[Any] = []
        problems: dict[int, RowProblem] = {}
        for i, (line_no, line) in enumerate(zip(lines, raw, strict=True)):
            value: Any = None
            if not line:
                problems[i] = (
                    ROW,
                    f"line {line_no}",
                    f"line too long (limit {self._limits.max_line_bytes} bytes)",
                )
            else:
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    problems[i] = (ROW, excerpt(line.decode("utf-8", "replace")), f"invalid JSON: {exc}")
                    _check_utf8(line, line_no)
            rows.append(value)
        return RowBatch(lines, rows, problems)


def _check_utf8(line: bytes, line_no: int) -> None:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = line[exc.start]
        raise EncodingError(
            f"file is not valid UTF-8: byte 0x{byte:02x} on line {line_no} (save the file as UTF-8)"
        ) from None
