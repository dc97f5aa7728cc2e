from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenant_pipeline.formula import FORMULA_TRIGGERS, escape_formula, unescape_formula


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("''@x", "'''@x"),
    ],
)
def test_cells_a_spreadsheet_would_run_get_a_leading_apostrophe(cell: str, escaped: str) -> None:
    assert escape_formula(cell) == escaped
    assert unescape_formula(escaped) == cell


@pytest.mark.parametrize("cell", ["", "Ada", "a=b", "'quoted", "''", "'", "1-2", " =x", "ada@example.com"])
def test_harmless_cells_are_unchanged(cell: str) -> None:
    assert escape_formula(cell) == cell
    assert unescape_formula(cell) == cell


def test_every_trigger_character_is_covered() -> None:
    assert set("=+-@\t\r") == FORMULA_TRIGGERS
    for trigger in FORMULA_TRIGGERS:
        assert escape_formula(trigger + "x")[0] == "'"


@given(st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "a", " ", "é"]), max_size=8))
def test_escape_is_reversible_and_never_leaves_a_trigger_first(cell: str) -> None:
    escaped = escape_formula(cell)
    assert unescape_formula(escaped) == cell
    assert not escaped or escaped[0] not in FORMULA_TRIGGERS


@given(st.text())
def test_escape_round_trips_any_text(cell: str) -> None:
    assert unescape_formula(escape_formula(cell)) == cell
