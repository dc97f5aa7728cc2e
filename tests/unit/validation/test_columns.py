from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenant_pipeline.entities import load_entity
from tenant_pipeline.validation import MISSING, FieldProblem, compile_entity
from tenant_pipeline.validation.columns import ColumnRule


def _check(entity: str, column: str) -> ColumnRule:
    return compile_entity(load_entity(entity)).rule(column)


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
    assert _check("contacts", column).check_text(cell) == expected


@pytest.mark.parametrize(
    ("column", "cell", "reason"),
    [
        ("id", "", "missing required"),
        ("id", "a b", "does not match"),
        ("id", "x" * 65, "too long"),
        ("email", "no-at.example.com", "no '@'"),
        ("email", "bob at example.com", "no '@'"),
        ("email", "@example.com", "nothing before the '@'"),
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
        _check("contacts", column).check_text(cell)


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
    value = _check("orders", "amount").check_text(cell)
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
        _check("orders", "amount").check_text(cell)


def test_order_enums_and_currency() -> None:
    assert _check("orders", "status").check_text("paid") == "paid"
    with pytest.raises(FieldProblem, match="one of cancelled, paid"):
        _check("orders", "status").check_text("PAID")
    assert _check("orders", "currency").check_text("EUR") == "EUR"
    with pytest.raises(FieldProblem, match="ISO 4217"):
        _check("orders", "currency").check_text("EUX")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [("age", 5, 5), ("age", 5.0, 5), ("age", None, MISSING), ("name", " x ", "x"), ("notes", "", MISSING)],
)
def test_json_values_keep_their_type(column: str, value: Any, expected: Any) -> None:
    assert _check("contacts", column).check_json(value) == expected


@pytest.mark.parametrize(
    ("column", "value"),
    [("age", "42"), ("age", True), ("age", 4.5), ("name", 5), ("name", ["x"]), ("id", {})],
)
def test_json_wrong_types_are_not_coerced(column: str, value: Any) -> None:
    with pytest.raises(FieldProblem, match="wrong type"):
        _check("contacts", column).check_json(value)


def test_json_amounts() -> None:
    amount = _check("orders", "amount")
    assert amount.check_json(12.5) == Decimal("12.50")
    assert amount.check_json(3) == Decimal("3.00")
    with pytest.raises(FieldProblem, match="wrong type"):
        amount.check_json("12.50")
    with pytest.raises(FieldProblem, match="fraction digits"):
        amount.check_json(0.125)


timestamps = st.datetimes(
    min_value=__import__("datetime").datetime(1900, 1, 2),
    max_value=__import__("datetime").datetime(9998, 12, 30),
)


cells_of_every_kind = st.lists(
    st.sampled_from(
        ["a@b.co", "X.Y@Mail.Example.org", "bad", "a@b", "a b@c.d", "", "  ", "q@@r.st", "n\x00@x.io",
         "12", "-3", "151", "4.5", "٣", "2021-02-03T04:05:06Z", "2021-02-30T00:00:00Z",
         "2021-02-03T04:05:06.120+02:00", "FR", "fr", "x" * 300, " padded@Example.com "]
    ),
    max_size=40,
)  # fmt: skip


@given(cells_of_every_kind, st.sampled_from(["id", "email", "name", "age", "created_at", "country", "notes"]))
def test_a_column_gets_what_each_value_gets_alone(cells: list[str], column: str) -> None:
    # Given a column of mixed cells, when its rule checks them all at once
    rule = _check("contacts", column)
    values, problems = rule.text(cells)
    # Then each value and each reason is what the same rule gives that cell alone
    alone: list[Any] = []
    reasons = []
    for i, cell in enumerate(cells):
        try:
            value = rule.check_text(cell)
        except FieldProblem as problem:
            reasons.append((i, str(problem)))
            value = None
        alone.append(None if value is MISSING else value)
    assert values == alone
    assert problems == reasons


@given(st.lists(st.one_of(st.none(), st.integers(-5, 200), st.floats(allow_nan=True), st.text(max_size=5),
                          st.booleans()), max_size=30))  # fmt: skip
def test_a_json_column_gets_what_each_value_gets_alone(values: list[Any]) -> None:
    for column in ("age", "name"):
        rule = _check("contacts", column)
        got, problems = rule.json(values)
        for i, value in enumerate(values):
            try:
                expected = rule.check_json(value)
            except FieldProblem as problem:
                assert (i, str(problem)) in problems
                assert got[i] is None
                continue
            assert got[i] == (None if expected is MISSING else expected)
