"""Plain-text rendering of the results for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "met", False: "MISSED", None: "not measured"}[value]
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def goals_table(goals: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [("key", "value", "goal", "result")]
    rows += [(key, fmt(g["value"]), g["goal"], fmt(g["met"])) for key, g in goals.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def figures(section: str, values: Mapping[str, Any], indent: str = "  ") -> str:
    lines = [section]
    for key, value in values.items():
        if isinstance(value, Mapping):
            lines.append(figures(f"{indent}{key}:", value, indent + "  "))
        elif not isinstance(value, list):
            lines.append(f"{indent}{key}: {fmt(value)}")
    return "\n".join(lines)
