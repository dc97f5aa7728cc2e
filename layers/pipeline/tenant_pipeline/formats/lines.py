"""Physical text lines from UTF-8 byte chunks, split where `io.StringIO(text, newline="")` splits them.

Lines keep their terminators (the csv module needs them to keep newlines inside quoted fields) and
break at `\\n`, `\\r\\n` and a bare `\\r`, exactly as a file opened with `newline=""` (the csv
module's documented way) breaks them, so line numbers match what `csv.reader` counts. A line longer
than the cap is never buffered: it is replaced by a bare `\\n` and described in `too_long` (its length,
and whether it holds a quote character, which decides whether it can be skipped as one record).
Memory never holds more than one chunk plus one capped line.

Resuming. `offset_after(line)` gives the byte offset just past a line of the block last produced, so a
reader can stop after any record and a later reader can start there (`first_line`, `offset`) on a ranged
read of the same object. The byte count of a block comes from the bytes fed minus those not yet produced
(the decoder's buffer, the unfinished line), so only the lines before a stopping point are ever
re-encoded, once per stop.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import NamedTuple

from tenant_pipeline.formats.errors import EncodingError
from tenant_pipeline.formats.limits import ReadLimits

# str.splitlines also breaks on these; a file read with newline="" does not.
_ODD_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_ODD_BREAKS_UNICODE = ("\x85", "\u2028", "\u2029")
_NEWLINE_SPLIT = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
_LINE_END = re.compile(r"\r\n?|\n")


class OverLongLine(NamedTuple):
    """A line that exceeded the cap: its length in characters and whether it holds a quote."""

    length: int
    quoted: bool


class _Block(NamedTuple):
    """The block last produced: its lines, the offset just past them, and whether some stand in for others."""

    lines: list[str]
    first_line: int
    end: int
    stand_ins: bool
    """True when some line is a stand-in for an over-long one (its bytes are not those of the file)."""
    end_known: bool = True
    """False when a "\\n" may still follow in the next chunk and belong to the block's last line."""


class TextLines:
    """Decoded lines in blocks (one list per chunk); `count` is the number of lines produced so far.

    `first_line` and `offset` start the lines at a record boundary inside the file (a resumed read):
    numbering continues from there and no BOM is looked for."""

    def __init__(
        self, chunks: Iterator[bytes], limits: ReadLimits, *, first_line: int = 0, offset: int = 0
    ) -> None:
        self._chunks = chunks
        self._cap = limits.max_line_bytes
        self.too_long: dict[int, OverLongLine] = {}
        """Physical line number -> what it held, for lines replaced because they exceed the cap."""
        self.count = first_line
        self._offset = offset
        self._fed = offset  # bytes of the file handed to the decoder so far
        self._block: _Block | None = None

    def offset_after(self, line: int) -> int | None:
        """The byte offset just past `line` (a line of the block last produced), or None when unknown."""
        block = self._block
        if block is None or not block.first_line <= line < block.first_line + len(block.lines):
            return None
        at = line - block.first_line + 1
        if at == len(block.lines):
            return block.end if block.end_known else None
        if block.stand_ins or not block.end_known:
            return None
        # Counted back from the block's end, so a BOM before its first line needs no special case.
        return block.end - len("".join(block.lines[at:]).encode())

    def _produce(
        self, lines: list[str], unproduced: int, *, stand_ins: bool, end_known: bool = True
    ) -> list[str]:
        """Record `lines` as the block last produced; `unproduced`: bytes fed that come after them."""
        self._block = _Block(lines, self.count - len(lines) + 1, self._fed - unproduced, stand_ins, end_known)
        return lines

    def blocks(self) -> Iterator[list[str]]:
        """The lines in lists (one per decoded chunk), so callers can consume many at a time."""
        # A BOM is looked for only at the start of the file, never at a resumed read's first byte.
        decoder = codecs.getincrementaldecoder("utf-8-sig" if self._offset == 0 else "utf-8")("strict")
        newlines_before = 0
        pending = ""
        skipping: OverLongLine | None = None  # the over-long line being discarded, until its end
        drop_lf = False  # a discarded line ended with "\r" at a chunk's end: a "\n" next belongs to it
        for chunk in self._chunks:
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise self._encoding_error(exc, newlines_before) from None
            self._fed += len(chunk)
            newlines_before += chunk.count(b"\n")
            if drop_lf and text:
                text, drop_lf = text.removeprefix("\n"), False
            if skipping is not None:
                end = _LINE_END.search(text)
                cut = len(text) if end is None else end.start()
                skipping = OverLongLine(skipping.length + cut, skipping.quoted or '"' in text[:cut])
                if end is None:
                    continue
                rest = text[end.end() :]
                drop_lf = end.group() == "\r" and not rest
                yield self._produce(
                    self._over_long(skipping),
                    self._held(decoder) + len(rest.encode()),
                    stand_ins=True,
                    end_known=not drop_lf,
                )
                skipping, text = None, rest
            parts = self._split(pending + text)
            # A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
            pending = parts.pop() if parts and not parts[-1].endswith("\n") else ""
            if parts:
                capped = self._capped(parts)
                unproduced = self._held(decoder) + len(pending.encode())
                yield self._produce(capped, unproduced, stand_ins=capped is not parts)
            if len(pending) - pending.endswith("\r") > self._cap:
                if pending.endswith("\r"):
                    # The line already ended: a "\n" first in the next chunk belongs to it, anything else
                    # starts the next line.
                    drop_lf = True
                    line = OverLongLine(len(pending) - 1, '"' in pending)
                    yield self._produce(
                        self._over_long(line), self._held(decoder), stand_ins=True, end_known=False
                    )
                else:
                    skipping = OverLongLine(len(pending), '"' in pending)
                pending = ""
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise self._encoding_error(exc, newlines_before) from None
        if skipping is not None:
            yield self._produce(
                self._over_long(skipping._replace(length=skipping.length + len(tail))), 0, stand_ins=True
            )
            return
        pending += tail
        if pending:
            parts = self._split(pending)
            capped = self._capped(parts)
            yield self._produce(capped, 0, stand_ins=capped is not parts)

    @staticmethod
    def _held(decoder: codecs.IncrementalDecoder) -> int:
        """Bytes the decoder holds back (an unfinished character, or what may still be a BOM)."""
        buffered, _ = decoder.getstate()
        return len(buffered)

    def _over_long(self, line: OverLongLine) -> list[str]:
        """The stand-in for a discarded line, once its end is known."""
        self.count += 1
        self.too_long[self.count] = line
        return ["\n"]

    def _capped(self, parts: list[str]) -> list[str]:
        """Count the lines; replace those over the cap by a bare line break."""
        first = self.count + 1
        self.count += len(parts)
        if max(map(len, parts), default=0) <= self._cap:
            return parts
        out = []
        for number, line in enumerate(parts, start=first):
            length = len(line.rstrip("\r\n"))
            if length > self._cap:
                self.too_long[number] = OverLongLine(length, '"' in line)
            out.append("\n" if length > self._cap else line)
        return out

    @staticmethod
    def _split(text: str) -> list[str]:
        odd = any(c in text for c in _ODD_BREAKS) or (
            not text.isascii() and any(c in text for c in _ODD_BREAKS_UNICODE)
        )
        if not odd:
            return text.splitlines(True)
        parts = _NEWLINE_SPLIT.split(text)
        if parts and not parts[-1]:
            parts.pop()
        return parts

    @staticmethod
    def _encoding_error(exc: UnicodeDecodeError, newlines_before: int) -> EncodingError:
        data = exc.object if isinstance(exc.object, bytes) else b""
        line = newlines_before + data.count(b"\n", 0, exc.start) + 1
        hint = ""
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (newlines_before == 0 and b"\x00" in data[:64]):
            hint = " (looks like UTF-16; save the file as UTF-8)"
        hint = hint or " (save the file as UTF-8)"
        return EncodingError(
            f"file is not valid UTF-8: byte 0x{data[exc.start]:02x} on line {line}{hint}"
            if exc.start < len(data)
            else f"file is not valid UTF-8: truncated character at the end (line {line})"
        )
