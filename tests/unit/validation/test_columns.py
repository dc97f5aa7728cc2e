from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenant_pipeline.entities import load_entity
from tenant_pipeline.validation import MISSING, FieldProblem, compile_entity
from tenant_pipeline.validation.columns import ColumnCheck


def _check(entity: str, column: str) -> ColumnCheck:
    return {c.name: c for c in compile_entity(load_entity(entity)).checks}[column]


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [
        ("email", "  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        ("name", "  Ann  ", "Ann"),
        ("age", "0", 0),
        ("age", "150", 150),
        ("age", "", MISSING),
        ("country", "FR", "FR"),
        ("created_at", "2021-02-03T04:05:06Z", "2021-02-03T04:05:06Z"),
        ("created_at", "2021-02-03t04:05:06z", "2021-02-03T04:05:06Z"),
        ("created_at", "2021-02-03T04:05:06.120+02:00", "2021-02-03T02:05:06.120Z"),
        ("created_at", "2021-02-03T04:05:06.1234567-01:30", "2021-02-03T05:35:06.123456Z"),
        ("created_at", "2024-02-29T00:00:00.000Z", "2024-02-29T00:00:00Z"),
        ("id", "abc_DEF-09", "abc_DEF-09"),
    ],
)
def test_valid_cells_are_normalised(column: str, cell: str, expected: Any) -> None:
    assert _check("contacts", column).text(cell) == expected


@pytest.mark.parametrize(
    ("column", "cell", "reason"),
    [
        ("id", "", "missing required"),
        ("id", "a b", "does not match"),
        ("id", "x" * 65, "too long"),
        ("email", "no-at.example.com", "local part"),
        ("email", "a@@b.com", "more than one '@'"),
        ("email", "a b@c.com", "whitespace"),
        ("email", "a@localhost", "dotted"),
        ("email", "a@b..com", "dotted"),
        ("email", "a@" + "b" * 250 + ".com", "too long"),
        ("name", "x" * 201, "too long"),
        ("name", "nul\x00", "NUL"),
        ("age", "151", "out of range"),
        ("age", "-1", "out of range"),
        ("age", "4.5", "wrong type"),
        ("age", "9" * 100, "out of range"),
        ("age", "٣", "wrong type"),
        ("created_at", "2021-02-30T00:00:00Z", "impossible date-time"),
        ("created_at", "2023-02-29T00:00:00Z", "impossible date-time"),
        ("created_at", "2021-02-03T04:05:06", "time zone"),
        ("created_at", "2021-02-03", "time zone"),
        ("created_at", "2021-02-03T24:00:00Z", "impossible"),
        ("created_at", "2021-02-03T23:59:60Z", "impossible"),
        ("created_at", "2021-02-03T04:05:06+25:00", "impossible"),
        ("created_at", "yesterday", "RFC 3339"),
        ("country", "fr", "ISO 3166"),
        ("country", "XX", "ISO 3166"),
        ("notes", "n" * 2001, "too long"),
    ],
)
def test_invalid_cells_say_why(column: str, cell: str, reason: str) -> None:
    with pytest.raises(FieldProblem, match=reason):
        _check("contacts", column).text(cell)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12.5", Decimal("12.50")),
        ("0", Decimal("0.00")),
        ("12.500", Decimal("12.50")),
        ("7", Decimal("7.00")),
    ],
)
def test_amounts_become_decimals(cell: str, expected: Decimal) -> None:
    value = _check("orders", "amount").text(cell)
    assert value == expected and str(value) == str(expected)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("12.345", "2 fraction digits"),
        ("-1", "out of range"),
        ("1e3", "not a decimal"),
        ("NaN", "not a decimal"),
        ("1" * 45, "out of range"),
        ("€5", "not a decimal"),
    ],
)
def test_bad_amounts(cell: str, reason: str) -> None:
    with pytest.raises(FieldProblem, match=reason):
        _check("orders", "amount").text(cell)


def test_order_enums_and_currency() -> None:
    assert _check("orders", "status").text("paid") == "paid"
    with pytest.raises(FieldProblem, match="one of cancelled, paid"):
        _check("orders", "status").text("PAID")
    assert _check("orders", "currency").text("EUR") == "EUR"
    with pytest.raises(FieldProblem, match="ISO 4217"):
        _check("orders", "currency").text("EUX")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [("age", 5, 5), ("age", 5.0, 5), ("age", None, MISSING), ("name", " x ", "x"), ("notes", "", MISSING)],
)
def test_json_values_keep_their_type(column: str, value: Any, expected: Any) -> None:
    assert _check("contacts", column).json(value) == expected


@pytest.mark.parametrize(
    ("column", "value"),
    [("age", "42"), ("age", True), ("age", 4.5), ("name", 5), ("name", ["x"]), ("id", {})],
)
def test_json_wrong_types_are_not_coerced(column: str, value: Any) -> None:
    with pytest.raises(FieldProblem, match="wrong type"):
        _check("contacts", column).json(value)


def test_json_amounts() -> None:
    amount = _check("orders", "amount")
    assert amount.json(12.5) == Decimal("12.50")
    assert amount.json(3) == Decimal("3.00")
    with pytest.raises(FieldProblem, match="wrong type"):
        amount.json("12.50")
    with pytest.raises(FieldProblem, match="fraction digits"):
        amount.json(0.125)


timestamps = st.datetimes(
    min_value=__import__("datetime").datetime(1900, 1, 2),
    max_value=__import__("datetime").datetime(9998, 12, 30),
)


@given(
    st.lists(
        st.sampled_from(["a@b.co", "X.Y@Mail.Example.org", "bad", "a@b", "a b@c.d", "", "q@@r.st"]),
        min_size=1,
        max_size=40,
    )
)
def test_email_fast_path_agrees_with_value_checks(cells: list[str]) -> None:
    check = _check("contacts", "email")
    expected: list[Any] | None = []
    for cell in cells:
        try:
            expected.append(check.text(cell))  # type: ignore[union-attr]
        except FieldProblem:
            expected = None
            break
    got = check.text_batch(cells)
    assert got is None or got == expected
    if expected is not None:
        assert got == expected


@given(st.lists(timestamps, min_size=1, max_size=20), st.sampled_from(["seconds", "milliseconds"]))
def test_date_time_fast_path_agrees_with_value_checks(values: list[Any], spec: str) -> None:
    check = _check("contacts", "created_at")
    cells = [v.isoformat(timespec=spec) + "Z" for v in values]
    expected = [check.text(c) for c in cells]
    got = check.text_batch(cells)
    assert got is None or got == expected
