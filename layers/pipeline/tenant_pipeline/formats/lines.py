"""Physical text lines from UTF-8 byte chunks, with the line-length cap applied.

Lines keep their terminators (the csv module needs them to keep newlines inside quoted fields)
and break exactly where Python's universal newlines break them (`\\n`, `\\r\\n`, `\\r`), so line
numbers match what an editor shows. A line longer than the cap is replaced by a bare `\\n` and
recorded in `too_long`, so the CSV parser resynchronises at the next line and the validator can
report the row; memory never holds more than one chunk plus one capped line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from itertools import chain

from tenant_pipeline.formats.errors import EncodingError
from tenant_pipeline.formats.limits import ReadLimits

# str.splitlines also breaks on these; CSV must not.
_ODD_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_ODD_BREAKS_UNICODE = ("\x85", "\u2028", "\u2029")
_NEWLINE_SPLIT = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


class TextLines:
    """Iterator over decoded lines; `count` is the number of lines produced so far."""

    def __init__(self, chunks: Iterator[bytes], limits: ReadLimits) -> None:
        self._chunks = chunks
        self._cap = limits.max_line_bytes
        self.too_long: dict[int, int] = {}
        """Physical line number -> its length, for lines replaced because they exceed the cap."""
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self.blocks())

    def blocks(self) -> Iterator[list[str]]:
        """The lines in lists (one per decoded chunk), so callers can work on many at a time."""
        decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        newlines_before = 0
        pending = ""
        skipping = 0  # > 0 while discarding the rest of an over-long line (its length so far)
        for chunk in self._chunks:
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise self._encoding_error(exc, newlines_before) from None
            newlines_before += chunk.count(b"\n")
            if skipping:
                text, skipping = self._skip_rest(text, skipping)
                if skipping:
                    continue
            text = pending + text
            parts = self._split(text)
            # A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
            pending = parts.pop() if parts and not parts[-1].endswith("\n") else ""
            if parts:
                if max(map(len, parts)) > self._cap:
                    parts = self._cap_lines(parts)
                self.count += len(parts)
                yield parts
            if len(pending) > self._cap:
                self.count += 1
                skipping = len(pending)
                self.too_long[self.count] = skipping
                pending = ""
                yield ["\n"]
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise self._encoding_error(exc, newlines_before) from None
        if skipping:
            self.too_long[self.count] += len(tail)
            return
        pending += tail
        if pending:
            parts = self._cap_lines(self._split(pending))
            self.count += len(parts)
            yield parts

    def _skip_rest(self, text: str, skipped: int) -> tuple[str, int]:
        """Drop text up to and including the next line break; returns (rest, still skipping)."""
        cut = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
        if cut < 0:
            self.too_long[self.count] = skipped + len(text)
            return "", skipped + len(text)
        self.too_long[self.count] = skipped + cut
        end = cut + 1
        if text.startswith("\r\n", cut):
            end += 1
        return text[end:], 0

    def _cap_lines(self, parts: list[str]) -> list[str]:
        cap = self._cap
        out = []
        for offset, line in enumerate(parts, start=self.count + 1):
            if len(line) > cap:
                self.too_long[offset] = len(line)
            out.append("\n" if len(line) > cap else line)
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
