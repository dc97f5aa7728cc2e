"""The C kernel (`_fastrows`) agrees with the pure-Python validator on every row of every file.

Files are generated from pools of tricky values per column (padding, case, bounds, calendar edge
cases, quotes, commas, escapes, non-ASCII, wrong JSON types, unknown and repeated keys, lines that
are not JSON), and validated twice: with the kernel and with `TENANT_PIPELINE_NATIVE=0`. The
outcomes must be identical, compared by `repr` so that `Decimal("12.5")` and `Decimal("12.50")`
differ.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenant_pipeline.entities import EntitySchema, load_entity
from tenant_pipeline.formats import FileFormat, FileRejectedError, ReadLimits
from tenant_pipeline.validation import compile_entity, native, validate_stream
from tenant_pipeline.validation.duplicates import _repeats_in_order

CONTACTS = load_entity("contacts")
ORDERS = load_entity("orders")

TEXT_POOLS: dict[str, list[str]] = {
    "id": ["c-1", "a_B-9", "", " c-2 ", "bad id", "x" * 64, "x" * 65, "é", "a,b", 'q"t', "c-1"],
    "contact_id": ["c-1", "", "x" * 65, "ok_1", " ok "],
    "email": [
        "A@B.co", "a@b", "a@@b.com", "a@b..com", " a@b.com", "A.B@Ex.COM", "a b@c.com", "ü@x.com",
        "@x.com", "a@.com", "a@b.c.", "", "x@" + "d" * 250 + ".com", "MiXeD@Case.Org",
    ],
    "name": [
        "Bob", " Bob", "Bob ", "", "B\x00b", "Zoë", "x" * 200, "x" * 201, "\u2003lead", "a\tb",
        "two\nlines", "x\x1c", "é" * 200, "é" * 201, 'say "hi", ok',
    ],
    "age": ["0", "150", "151", "-1", "-0", "007", "+5", " 5", "5.0", "1e2", "", "9" * 20, "abc", "42"],
    "created_at": [
        "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-01T00:00:00.000Z",
        "2024-01-01T00:00:00.123Z", "2024-01-01T00:00:00.1Z", "2024-01-01T00:00:00+02:00",
        "2024-01-01t00:00:00z", "2024-13-01T00:00:00Z", "0000-01-01T00:00:00Z",
        "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2024-01-01T24:00:00Z",
        "2024-01-01T23:59:60Z", "2024-01-01", "", "2024-04-31T10:00:00Z", "2024-12-31T23:59:59.999Z",
    ],
    "country": ["US", "us", "XX", " US", "", "ZZ", "FR"],
    "notes": ["", "ok", " ok", 'say "hi"', "a,b", "x" * 2000, "x" * 2001, "tab\tin", "é", "\\back"],
    "amount": ["0", "12.5", "12.50", "12.505", "-1", "-0.00", "1e3", "", " 3.10", "0.1", "9" * 27, "abc"],
    "currency": ["USD", "usd", "XXX", "EUR", "", " EUR"],
    "status": ["paid", "PAID", "pending", "", "lost", " paid"],
    "placed_at": ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00+01:00", "", "soon"],
}  # fmt: skip
JSON_EXTRAS: list[Any] = [None, 0, 42, 151, -1, 5.0, 5.5, 12.5, 1e300, True, [], {"a": 1}, 10**20]


def _rows(entity: EntitySchema, json_values: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    def column(name: str) -> st.SearchStrategy[Any]:
        pool: list[Any] = TEXT_POOLS[name] + (JSON_EXTRAS if json_values else [])
        return st.sampled_from(pool)

    row = st.fixed_dictionaries({}, optional={name: column(name) for name in entity.columns})
    return st.lists(row, min_size=1, max_size=25)


def _outcomes(data: bytes, key: str, entity: EntitySchema, native_on: bool) -> list[str]:
    mp = pytest.MonkeyPatch()
    mp.setenv("TENANT_PIPELINE_NATIVE", "1" if native_on else "0")
    try:
        stream = validate_stream(io.BytesIO(data), FileFormat.from_key(key), entity, ReadLimits(batch_rows=7))
        return [repr(outcome) for outcome in stream]
    except FileRejectedError as exc:
        return [f"rejected: {exc}"]
    finally:
        mp.undo()


def _agree(data: bytes, key: str, entity: EntitySchema) -> None:
    assert _outcomes(data, key, entity, True) == _outcomes(data, key, entity, False)


def test_the_kernel_is_built() -> None:
    """`make` builds it; without it every other test here would compare the Python path with itself."""
    assert native.kernel() is not None


@pytest.mark.parametrize("entity", [CONTACTS, ORDERS], ids=lambda e: e.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_csv_outcomes_agree(entity: EntitySchema, data: st.DataObject) -> None:
    rows = data.draw(_rows(entity, json_values=False))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=data.draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(entity.columns)
    writer.writerows([[row.get(name, "") for name in entity.columns] for row in rows])
    _agree(buffer.getvalue().encode(), "f.csv", entity)


@pytest.mark.parametrize("entity", [CONTACTS, ORDERS], ids=lambda e: e.name)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_json_lines_outcomes_agree(entity: EntitySchema, data: st.DataObject) -> None:
    rows = data.draw(_rows(entity, json_values=True))
    lines = []
    for row in rows:
        ascii_only = data.draw(st.booleans())
        pairs = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=ascii_only)}" for k, v in row.items()]
        extra = data.draw(st.sampled_from(["", "", "", "unknown", "repeat", "garbage", "array", "spaces"]))
        if extra == "unknown":
            pairs.append('"extra": 1')
        elif extra == "repeat" and row:
            pairs.append(pairs[0])
        line = "{" + ", ".join(pairs) + "}"
        if extra == "garbage":
            line = data.draw(st.sampled_from(["{", "null", "not json", '{"id": "c-1",}', "{} x"]))
        elif extra == "array":
            line = json.dumps(list(row.values()))
        elif extra == "spaces":
            line = f"  {line}\t "
        lines.append(line)
    _agree(("\n".join(lines) + "\n").encode(), "f.jsonl", entity)


def test_a_bad_utf8_line_rejects_the_file_both_ways() -> None:
    data = b'{"id": "c-1", "email": "a@b.co", "name": "A", "created_at": "2024-01-01T00:00:00Z"}\n'
    data += b'{"id": "c-2", "email": "a@b.co", "name": "\xff", "created_at": "2024-01-01T00:00:00Z"}\n'
    outcomes = _outcomes(data, "f.jsonl", CONTACTS, True)
    assert outcomes == _outcomes(data, "f.jsonl", CONTACTS, False)
    assert outcomes[0].startswith("rejected: file is not valid UTF-8")


def test_specs_follow_the_schema() -> None:
    """Each contacts column gets the kernel check its certainty test calls for."""
    specs = {c.name: c.native for c in compile_entity(CONTACTS).checks}
    assert specs["id"] == (native.CHARS, True, 1, 64, specs["id"][4])
    assert set(specs["id"][4].decode()) == set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    assert specs["email"] == (native.EMAIL, True, 0, 254)
    assert specs["age"] == (native.INT, False, 0, 150)
    assert specs["country"][0] == native.MEMBERS and "US" in specs["country"][2]
    amount = {c.name: c.native for c in compile_entity(ORDERS).checks}["amount"]
    assert amount[:4] == (native.DECIMAL, True, 26, 2) and amount[-1] == Decimal("0.01")


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.sampled_from(["a", "b", "c", "d", 1, 2]), max_size=30),
    earlier=st.sets(st.sampled_from(["a", "c", 2, "z"])),
    shuffle=st.randoms(use_true_random=False),
)
def test_repeats_agree(keys: list[Any], earlier: set[Any], shuffle: Any) -> None:
    """The kernel's one-pass key check finds the same repeats, and leaves `seen` the same."""
    lines = list(range(1, len(keys) + 1))
    shuffle.shuffle(lines)  # a batch's rows may come grouped, not in line order
    with_kernel, without = set(earlier), set(earlier)
    found = _repeats_in_order(lines, keys, with_kernel)
    mp = pytest.MonkeyPatch()
    mp.setenv("TENANT_PIPELINE_NATIVE", "0")
    try:
        assert found == _repeats_in_order(lines, keys, without)
    finally:
        mp.undo()
    assert with_kernel == without
    by_line = sorted(range(len(keys)), key=lines.__getitem__)
    first_seen: set[Any] = set(earlier)
    expected = []
    for i in by_line:
        if keys[i] in first_seen:
            expected.append(i)
        first_seen.add(keys[i])
    assert found == sorted(expected)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.one_of(st.text(max_size=5), st.integers(-(2**70), 2**70)), max_size=40))
def test_partition_groups_as_python_does(keys: list[Any]) -> None:
    kernel = native.kernel()
    assert kernel is not None
    lines = list(range(2, len(keys) + 2))
    expected: dict[int, list[tuple[int, Any]]] = {}
    for line, key in zip(lines, keys, strict=True):
        expected.setdefault(hash(key) & 7, []).append((line, key))
    assert kernel.partition(lines, keys, 7) == expected
