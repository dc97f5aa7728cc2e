"""A one-line progress bar on stderr (only on a terminal, so scripts and logs stay clean)."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


def bar(done: int, total: int | None, width: int = BAR_WIDTH) -> str:
    """`[#######.......]  350/1000 rows stored`; an unknown total shows an empty bar."""
    if not total:
        return f"[{'.' * width}]  {done} rows stored (counting rows...)"
    filled = min(width, round(width * done / total))
    return f"[{'#' * filled}{'.' * (width - filled)}]  {done}/{total} rows stored"


class ProgressLine:
    """Rewrites one terminal line in place; silent when the stream is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._active = self._stream.isatty()
        self._last = ""

    def show(self, text: str) -> None:
        if self._active and text != self._last:
            self._stream.write("\r" + text.ljust(len(self._last)))
            self._stream.flush()
            self._last = text

    def close(self) -> None:
        if self._active and self._last:
            self._stream.write("\n")
            self._stream.flush()
            self._last = ""
