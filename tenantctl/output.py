"""Human output (aligned tables, key/value blocks) and `--json` output, to stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO


def print_json(data: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(data, indent=2, default=str) + "\n")
    out.flush()


def print_lines(lines: Sequence[str], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    for line in lines:
        out.write(line + "\n")
    out.flush()


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> list[str]:
    """Columns as (key, heading); values shown as text, missing ones as `-`."""
    cells = [[_text(row.get(key)) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    widths = [
        max([len(heading)] + [len(line[index]) for line in cells]) for index, heading in enumerate(headings)
    ]
    lines = [
        "  ".join(heading.ljust(width) for heading, width in zip(headings, widths, strict=True)).rstrip()
    ]
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )
    return lines


def key_values(data: Mapping[str, Any], keys: Sequence[str] | None = None) -> list[str]:
    shown = [key for key in (keys or list(data)) if key in data]
    width = max((len(key) for key in shown), default=0)
    return [f"{key.ljust(width)}  {_text(data[key])}" for key in shown]


def _text(value: Any) -> str:
    if value is None or value in ("", []):
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)
