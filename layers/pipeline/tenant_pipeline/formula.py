"""CSV formula-injection escaping (OWASP "CSV Injection"), reversible so exports round-trip exactly.

Spreadsheets run a cell as a formula when it starts with `=`, `+`, `-` or `@`, and some also when a tab or
carriage return comes first. A string cell that starts with one of those is written with a leading
apostrophe, which spreadsheets show as text and never evaluate. To keep the escape reversible, a cell made
of apostrophes followed by a trigger character (for instance `'=1`) gains one more apostrophe too, so
`unescape_formula(escape_formula(s)) == s` for every string `s`.
"""

from __future__ import annotations

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet evaluate a cell."""

ESCAPE_PREFIX = "'"


def _needs_prefix(cell: str) -> bool:
    """True when the cell, after any leading apostrophes, starts with a trigger character."""
    stripped = cell.lstrip(ESCAPE_PREFIX)
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def escape_formula(cell: str) -> str:
    """The cell as written to a CSV export: prefixed with an apostrophe when a spreadsheet could run it."""
    if cell and (cell[0] in FORMULA_TRIGGERS or (cell[0] == ESCAPE_PREFIX and _needs_prefix(cell))):
        return ESCAPE_PREFIX + cell
    return cell


def unescape_formula(cell: str) -> str:
    """The original value of an exported CSV cell (the inverse of `escape_formula`)."""
    if cell.startswith(ESCAPE_PREFIX) and _needs_prefix(cell):
        return cell[1:]
    return cell
