"""Streaming JSON Lines reader: one JSON value per line, blank lines skipped.

Lines are split as bytes and handed to orjson whole batches at a time; only a batch holding a
bad line falls back to line-by-line decoding. A line that does not parse is a row error; a line
that is not valid UTF-8 rejects the file (an encoding problem is never confined to one row).

Resuming. After any batch, `resume_point()` names the byte offset and line where the next record
starts; a reader given that `start` reads on from a ranged read of the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress
from typing import Any

import orjson

from tenant_pipeline.formats.batch import ROW, RowBatch, RowProblem, excerpt
from tenant_pipeline.formats.csv import ResumePoint
from tenant_pipeline.formats.errors import EncodingError
from tenant_pipeline.formats.limits import ReadLimits

_BOM = b"\xef\xbb\xbf"


class JsonLinesReader:
    """Yields `RowBatch`es of decoded JSON values (objects are checked by the validator)."""

    def __init__(
        self, chunks: Iterator[bytes], limits: ReadLimits, *, start: ResumePoint | None = None
    ) -> None:
        self._chunks = chunks
        self._limits = limits
        self._start = start or ResumePoint(0, 0)
        self._fed = self._start.offset  # bytes of the file read so far
        self._group: tuple[int, int, list[bytes]] = (1, self._start.offset, [])
        """The line group last produced: its first line, its offset, its lines (blank ones included)."""
        self._last = self._start.line  # the last line of the last batch yielded

    def resume_point(self) -> ResumePoint | None:
        """Where the record after the last batch yielded starts, or None when its offset is not known."""
        first, offset, parts = self._group
        count = self._last - first + 1
        if not 0 < count <= len(parts):
            return None
        # Each part was followed by its "\n", but the file's last line may have none.
        end = offset + sum(map(len, parts[:count])) + count
        return ResumePoint(min(end, self._fed), self._last)

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
                self._last = lines[size - 1]
                yield lines[:size], raw[:size]
                del lines[:size], raw[:size]
        if raw:
            self._last = lines[-1]
            yield lines, raw

    def _line_groups(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """(line numbers, contents) of the non-blank lines, a chunk at a time; over-long lines come as b"".

        A chunk's complete lines are split and filtered with C-level operations; only a chunk
        holding an over-long line (or ending one) goes line by line.
        """
        cap = self._limits.max_line_bytes
        pending = b""
        line_no = self._start.line
        first = self._start.offset == 0  # a BOM is looked for only at the start of the file
        skipping = False
        for raw in self._chunks:
            chunk = raw.removeprefix(_BOM) if first else raw
            first = False
            self._fed += len(raw)
            parts = chunk.split(b"\n")
            # (while skipping, `pending` is empty and the first part is the tail of the discarded line)
            parts[0] = pending + parts[0]
            pending = parts.pop()
            self._group = (line_no + 1, self._fed - len(pending) - sum(map(len, parts)) - len(parts), parts)
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
        self._group = (line_no + 1, self._fed - len(pending), [pending])
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
