from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from typing import Any, BinaryIO, cast

import pytest

from tenant_pipeline.entities import load_entity
from tenant_pipeline.formats import (
    CorruptGzipError,
    DecompressedTooLargeError,
    EmptyFileError,
    EncodingError,
    FileFormat,
    FileRejectedError,
    HeaderError,
    JsonNestingError,
    MalformedCsvError,
    MissingColumnError,
    NotJsonArrayError,
    ReadLimits,
    UnknownColumnError,
)
from tenant_pipeline.validation import (
    InvalidRow,
    KeyTracker,
    PassClock,
    ValidRow,
    validate_batches,
    validate_stream,
)

CONTACTS = load_entity("contacts")
ORDERS = load_entity("orders")
HEADER = "id,email,name,age,created_at,country,notes\n"


def _run(
    data: bytes, key: str = "f.csv", entity: Any = CONTACTS, **limits: int
) -> list[ValidRow | InvalidRow]:
    return list(validate_stream(io.BytesIO(data), FileFormat.from_key(key), entity, ReadLimits(**limits)))


def _reasons(outcomes: list[ValidRow | InvalidRow]) -> dict[int, list[str]]:
    return {
        o.line: [f"{e.field}: {e.reason}" for e in o.errors] for o in outcomes if isinstance(o, InvalidRow)
    }


def test_csv_rows_are_coerced_normalised_and_keep_their_lines() -> None:
    data = (
        HEADER
        + 'c1, Ann@Example.COM , Ann Lee ,34,2021-02-03T04:05:06+01:00,FR,"multi\nline, note"\n'
        + "c2,bob@example.com,Bob,,2021-02-03T04:05:06Z,,\n"
    ).encode()
    outcomes = _run(data)
    assert outcomes == [
        ValidRow(2, {"id": "c1", "email": "ann@example.com", "name": "Ann Lee", "age": 34,
                     "created_at": "2021-02-03T03:05:06Z", "country": "FR", "notes": "multi\nline, note"}),
        ValidRow(
            4, {"id": "c2", "email": "bob@example.com", "name": "Bob", "created_at": "2021-02-03T04:05:06Z"}
        ),
    ]  # fmt: skip


def test_every_failing_field_is_named() -> None:
    data = (HEADER + "c1,bad,,200,2021-02-30T00:00:00Z,XX,\n").encode()
    (outcome,) = _run(data)
    assert isinstance(outcome, InvalidRow) and outcome.line == 2
    assert [e.field for e in outcome.errors] == ["email", "name", "age", "created_at", "country"]
    assert outcome.errors[2].value == "200"


def test_later_duplicate_is_invalid_and_the_first_stands() -> None:
    row = "{id},x@y.com,X,,2021-01-01T00:00:00Z,,\n"
    data = (
        HEADER + row.format(id="a") + row.format(id="b") + row.format(id="a") + row.format(id="b")
    ).encode()
    outcomes = _run(data, batch_rows=3)  # the repeats span two batches
    assert [type(o).__name__ for o in outcomes] == ["ValidRow", "ValidRow", "InvalidRow", "InvalidRow"]
    assert _reasons(outcomes)[4] == ["id: duplicate primary key: line 2 has it first"]
    assert _reasons(outcomes)[5] == ["id: duplicate primary key: line 3 has it first"]


def test_an_invalid_first_row_does_not_block_its_id() -> None:
    data = (HEADER + "a,bad,X,,2021-01-01T00:00:00Z,,\na,ok@y.com,X,,2021-01-01T00:00:00Z,,\n").encode()
    assert [type(o) for o in _run(data)] == [InvalidRow, ValidRow]


def test_only_the_bad_rows_of_a_large_batch_fail() -> None:
    # 2,000 rows in one batch with a few bad values scattered: only those rows fail.
    lines = [HEADER]
    for i in range(2000):
        email = "broken" if i in (17, 1500) else f"u{i}@Ex.com"
        when = "2021-02-29T00:00:00Z" if i == 999 else "2021-02-28T00:00:00Z"
        lines.append(f"c{i},{email},N{i},{i % 150},{when},US,\n")
    outcomes = _run("".join(lines).encode(), batch_rows=5000)
    assert sorted(_reasons(outcomes)) == [19, 1001, 1502]
    assert outcomes[5] == ValidRow(7, {"id": "c5", "email": "u5@ex.com", "name": "N5", "age": 5,
                                       "created_at": "2021-02-28T00:00:00Z", "country": "US"})  # fmt: skip


def _contacts() -> list[dict[str, Any]]:
    return [
        {"id": "c1", "email": "A@B.co", "name": "A", "created_at": "2021-01-01T00:00:00Z", "age": 3},
        {"id": "c2", "email": "x@y.co", "name": "B", "created_at": "2021-01-01T00:00:00+02:00"},
        {"id": "c3", "email": "x@y.co", "name": "C", "created_at": "2021-01-01T00:00:00Z", "age": "42"},
    ]


@pytest.mark.parametrize("key", ["f.jsonl", "f.json", "f.jsonl.gz", "f.json.gz"])
def test_json_formats_give_the_same_outcomes(key: str) -> None:
    rows = _contacts()
    data = (
        b"\n".join(json.dumps(r).encode() for r in rows)
        if ".jsonl" in key
        else json.dumps(rows, indent=1).encode()
    )
    if key.endswith(".gz"):
        data = gzip.compress(data)
    outcomes = _run(data, key)
    assert [type(o) for o in outcomes] == [ValidRow, ValidRow, InvalidRow]
    assert outcomes[0].record["email"] == "a@b.co"  # type: ignore[union-attr]
    assert outcomes[1].record["created_at"] == "2020-12-31T22:00:00Z"  # type: ignore[union-attr]
    assert outcomes[2].errors[0].reason == "wrong type: expected integer, got string"  # type: ignore[union-attr]


def test_json_rows_that_are_not_objects_or_have_unknown_fields() -> None:
    data = (
        b'[1]\n"x"\n{"id":"c1","email":"a@b.co","name":"A","created_at":"2021-01-01T00:00:00Z","vip":true}\n'
    )
    reasons = _reasons(_run(data, "f.jsonl"))
    assert reasons == {1: ["(row): not a JSON object (got an array)"],
                       2: ["(row): not a JSON object (got a string)"],
                       3: ["vip: unknown field for this entity"]}  # fmt: skip


def test_orders_amounts_are_decimals() -> None:
    data = b"id,contact_id,amount,currency,status,placed_at\no1,c1,12.5,EUR,paid,2024-01-01T10:00:00Z\n"
    (outcome,) = _run(data, entity=ORDERS)
    assert isinstance(outcome, ValidRow) and outcome.record["amount"] == Decimal("12.50")


@pytest.mark.parametrize(
    ("data", "key", "error", "reason"),
    [
        (b"", "f.csv", EmptyFileError, "empty"),
        (HEADER.encode(), "f.csv", EmptyFileError, "header but no data rows"),
        (b"id,email,name,created_at,vip\n", "f.csv", UnknownColumnError, "'vip'"),
        (b"id,name,created_at\n", "f.csv", MissingColumnError, "'email'"),
        (b"id,id,email\n", "f.csv", HeaderError, "more than once"),
        (HEADER.encode() + b'c1,"a@b.co,A\n' * 3, "f.csv", MalformedCsvError, "line 2"),
        (HEADER.encode("utf-16"), "f.csv", EncodingError, "UTF-16"),
        (
            (HEADER + "c1,a@b.co,Zoë,1,2021-01-01T00:00:00Z,,\n").encode("latin-1"),
            "f.csv",
            EncodingError,
            "line 2",
        ),
        (b"", "f.jsonl", EmptyFileError, "no records"),
        (b"[]", "f.json", EmptyFileError, "no records"),
        (b'{"id": "c1"}', "f.json", NotJsonArrayError, "array"),
        (b"[" + b"[" * 100 + b"]" * 100 + b"]", "f.json", JsonNestingError, "deeper"),
        (gzip.compress(HEADER.encode())[:-6], "f.csv.gz", CorruptGzipError, "truncated"),
    ],
)
def test_whole_file_problems_have_clear_reasons(
    data: bytes, key: str, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason) as raised:
        _run(data, key)
    assert isinstance(raised.value, FileRejectedError)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(HEADER.encode() + b"\n" * 20_000_000)
    with pytest.raises(DecompressedTooLargeError):
        _run(bomb, "f.csv.gz", max_decompressed_bytes=1_000_000)


def test_row_level_hostile_inputs() -> None:
    data = (
        HEADER
        + "c1,a@b.co,A,1,2021-01-01T00:00:00Z,,\n"
        + "c2,a@b.co,A\n"  # too few columns
        + "c3,a@b.co,A\x00B,1,2021-01-01T00:00:00Z,,\n"  # NUL
        + "c4,a@b.co,"
        + "x" * 3000
        + ",1,2021-01-01T00:00:00Z,,\n"  # line too long
        + "c5,a@b.co,A,99999999999999999999999,2021-01-01T00:00:00Z,,\n"  # out of range
        + "c6,a@b.co,A,1,2021-01-01T00:00:00Z,,\n"
    ).encode()
    outcomes = _run(data, max_line_bytes=1000, chunk_bytes=512)
    assert [o.line for o in outcomes] == [2, 3, 4, 5, 6, 7]
    reasons = _reasons(outcomes)
    assert "wrong column count" in reasons[3][0]
    assert "NUL" in reasons[4][0]
    assert "line too long" in reasons[5][0]
    assert "out of range" in reasons[6][0]
    assert isinstance(outcomes[-1], ValidRow)


def test_many_columns_are_refused() -> None:
    header = ",".join(["id", "email"] + [f"x{i}" for i in range(5000)]) + "\n"
    with pytest.raises(HeaderError, match="limit is 256"):
        _run(header.encode())


def test_streams_in_flat_memory() -> None:
    # A generator-backed stream: nothing can call read() without a size on it.
    class Chunked(io.RawIOBase):
        def __init__(self, rows: int) -> None:
            self._rows = iter(range(rows))
            self._buf = HEADER.encode()
            self.largest_read = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            assert size > 0, "the whole object must never be read"
            self.largest_read = max(self.largest_read, size)
            while len(self._buf) < size:
                i = next(self._rows, None)
                if i is None:
                    break
                self._buf += f"c{i},u{i}@x.co,N,1,2021-01-01T00:00:00Z,,\n".encode()
            out, self._buf = self._buf[:size], self._buf[size:]
            return out

    stream = Chunked(30_000)
    buffered = cast(BinaryIO, stream)
    valid = sum(
        isinstance(o, ValidRow) for o in validate_stream(buffered, FileFormat.from_key("a.csv"), CONTACTS)
    )
    assert valid == 30_000
    assert stream.largest_read <= ReadLimits().chunk_bytes


def test_a_pass_clock_measures_the_checks_and_changes_no_outcome() -> None:
    rows = "".join(f"c-{n},p{n}@example.com,P {n},{n % 90},2024-01-01T00:00:00Z,US,\n" for n in range(500))
    data = (HEADER + rows + "c-x,bad,P,1,2024-01-01T00:00:00Z,US,\n").encode()
    clock = PassClock()

    timed = list(
        validate_batches(
            io.BytesIO(data), FileFormat.from_key("f.csv"), CONTACTS, keys=KeyTracker(), clock=clock
        )
    )
    plain = list(
        validate_batches(io.BytesIO(data), FileFormat.from_key("f.csv"), CONTACTS, keys=KeyTracker())
    )

    assert [(b.total, len(b.invalid)) for b in timed] == [(b.total, len(b.invalid)) for b in plain]
    assert sum(b.total for b in timed) == len(list(csv.reader(io.StringIO(data.decode())))) - 1
    assert clock.check_s > 0
