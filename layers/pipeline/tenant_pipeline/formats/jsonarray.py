"""Streaming reader for a top-level JSON array, one element at a time.

`json.JSONDecoder.raw_decode` (the C scanner) decodes each element from a sliding text buffer;
the buffer only ever holds the current element plus one chunk, and an element larger than
`max_line_bytes` rejects the file (there is no safe place to resume inside it). Nesting deeper
than `max_depth` rejects the file too, whether the decoder notices it (recursion) or the check
of the decoded element does.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

from tenant_pipeline.formats.batch import RowBatch
from tenant_pipeline.formats.errors import (
    EncodingError,
    JsonNestingError,
    NotJsonArrayError,
    RecordTooLargeError,
)
from tenant_pipeline.formats.limits import ReadLimits

_NOT_WHITESPACE = re.compile(r"[^ \t\r\n]")
_decode = json.JSONDecoder().raw_decode


def _depth(value: Any, limit: int, level: int = 1) -> int:
    """Nesting depth of `value`, stopping once it exceeds `limit`."""
    if level > limit:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    deepest = level
    for child in children:
        if isinstance(child, dict | list):
            deepest = max(deepest, _depth(child, limit, level + 1))
            if deepest > limit:
                break
    return deepest


class JsonArrayReader:
    """Yields `RowBatch`es of the array's elements; the line is where each element starts."""

    def __init__(self, chunks: Iterator[bytes], limits: ReadLimits) -> None:
        self._chunks = chunks
        self._limits = limits
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._buf = ""
        self._pos = 0
        self._line = 1  # line at self._pos
        self._eof = False

    def _more(self) -> bool:
        """Append the next chunk to the buffer, dropping what was consumed; False at the end."""
        if self._eof:
            return False
        self._line += self._buf.count("\n", 0, self._pos)
        self._buf = self._buf[self._pos :]
        self._pos = 0
        chunk = next(self._chunks, None)
        try:
            if chunk is None:
                self._eof = True
                self._buf += self._decoder.decode(b"", final=True)
                return False
            self._buf += self._decoder.decode(chunk)
        except UnicodeDecodeError:
            raise EncodingError(
                f"file is not valid UTF-8 (near line {self._line + self._buf.count(chr(10))})"
            ) from None
        return True

    def _skip_ws(self) -> str:
        """Next non-whitespace character ('' at the end of the file), without consuming it."""
        while True:
            found = _NOT_WHITESPACE.search(self._buf, self._pos)
            if found is not None:
                self._pos = found.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._more():
                return ""

    def _where(self) -> int:
        return self._line + self._buf.count("\n", 0, self._pos)

    def batches(self) -> Iterator[RowBatch]:
        first = self._skip_ws()
        if first != "[":
            what = "is empty" if first == "" else f"starts with {first!r}"
            raise NotJsonArrayError(f"a .json file must hold one JSON array of objects; this file {what}")
        self._pos += 1
        lines: list[int] = []
        rows: list[Any] = []
        expect_value = True
        if self._skip_ws() == "]":
            expect_value = False
        while True:
            c = self._skip_ws()
            if c == "]":
                if expect_value and rows:
                    raise NotJsonArrayError(f"trailing comma before ']' on line {self._where()}")
                self._pos += 1
                break
            if c == "":
                raise NotJsonArrayError("the JSON array is not closed (file truncated?)")
            if not expect_value:
                if c != ",":
                    raise NotJsonArrayError(
                        f"expected ',' or ']' between array elements on line {self._where()}"
                    )
                self._pos += 1
                expect_value = True
                continue
            lines.append(self._where())
            rows.append(self._element())
            expect_value = False
            if len(rows) >= self._limits.batch_rows:
                yield RowBatch(lines, rows)
                lines, rows = [], []
        if rows:
            yield RowBatch(lines, rows)
        if self._skip_ws() != "":
            raise NotJsonArrayError(f"unexpected content after the JSON array on line {self._where()}")

    def _element(self) -> Any:
        cap = self._limits.max_line_bytes
        while True:
            try:
                value, end = _decode(self._buf, self._pos)
            except RecursionError:
                raise JsonNestingError(
                    f"JSON nested too deeply in the element starting on line {self._where()}"
                ) from None
            except json.JSONDecodeError as exc:
                if len(self._buf) - self._pos > cap or not self._more():
                    if len(self._buf) - self._pos > cap:
                        raise RecordTooLargeError(
                            f"array element starting on line {self._where()} is larger than {cap} characters"
                        ) from None
                    raise NotJsonArrayError(
                        f"invalid JSON at line {exc.lineno + self._line - 1}: {exc.msg}"
                    ) from None
                continue
            if end - self._pos > cap:
                raise RecordTooLargeError(
                    f"array element starting on line {self._where()} is larger than {cap} characters"
                )
            if (
                isinstance(value, dict | list)
                and _depth(value, self._limits.max_depth) > self._limits.max_depth
            ):
                raise JsonNestingError(
                    f"JSON nested deeper than {self._limits.max_depth} levels in the element starting on "
                    f"line {self._where()}"
                )
            self._pos = end
            return value
