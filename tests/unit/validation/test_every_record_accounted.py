"""Every record, as Python's `csv` and `json` modules read the file, is one outcome: stored or reported.

The files are shaped like real exports: quoted commas and quotes, line breaks of every kind inside
and outside quoted fields, blank lines, rows of the wrong width, with and without a BOM and a final
line break, repeated ids (several on one line in a one-line JSON array), and entity rows valid and
invalid; a tiny key-tracker memory makes some repeats known only after the pass. The expected
outcome of each record comes from how it was generated (never from the validator), and the count of
records from the standard library.
CSV and JSON Lines files are also read in legs, as invocations with a tiny time budget read them: each
leg stops after a batch or a few, at whatever record that is, and the next starts from the saved byte
offset on its own copy of the rest of the file, with the key tracker saved and resumed in between, so
files split at awkward places (inside CRLF runs, after multi-line quoted fields, after a BOM).
The default tests try a few hundred files per format; the `thorough` ones (`make test-thorough`) another
thousand each.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenant_pipeline.entities import load_entity
from tenant_pipeline.formats import FileFormat, ReadLimits
from tenant_pipeline.validation import (
    InvalidRow,
    KeyTracker,
    Leg,
    ReadCheckpoint,
    SavedKeys,
    ValidatedBatch,
    ValidationPass,
    ValidRow,
    settle,
    validate_stream,
)
from tenant_pipeline.validation.duplicates import DEFAULT_MAX_KEYS

CONTACTS = load_entity("contacts")
COLUMNS = list(CONTACTS.columns)
LINE_ENDS = ["\n", "\r\n", "\r"]
DEFAULT_EXAMPLES = 200
SLOW_EXAMPLES = 1000


@dataclass(frozen=True)
class Row:
    """A generated contact: its cells, and the record the import should store (None: invalid)."""

    cells: dict[str, Any]
    stored: dict[str, Any] | None


notes = st.one_of(
    st.just(""),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
    st.sampled_from(
        [
            "called back, wants a call",
            'says "premium", twice',
            "line one\nline two",
            "line one\r\nline two\r\n",
            "cr only\rhere",
            "blank\n\nline inside",
            "\n\nstarts with breaks",
            ',"\n,"',
        ]
    ),
)
names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40
).filter(lambda s: s.strip())
moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)


@st.composite
def contact(draw: st.DrawFn, number: int) -> Row:
    """A contact whose validity is decided here: at most one field made bad."""
    when = draw(moments)
    local = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9._]{0,10}", fullmatch=True))
    age = draw(st.one_of(st.just(""), st.integers(0, 150).map(str)))
    cells: dict[str, Any] = {
        "id": f"c-{number}",
        "email": f" {local}@Example.COM ",
        "name": draw(names),
        "age": age,
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "country": draw(st.sampled_from(["", "FR", "US", "JP"])),
        "notes": draw(notes),
    }
    bad = draw(st.sampled_from([None] * 6 + ["id", "email", "age", "created_at", "country", "name"]))
    if bad is not None:
        cells[bad] = {
            "id": "has space",
            "email": draw(st.sampled_from(["no-at.example.com", "a@b", "bob at example.com"])),
            "age": draw(st.sampled_from(["151", "-1", "4.5", "x"])),
            "created_at": draw(st.sampled_from(["2021-02-30T00:00:00Z", "2021-02-03", "soon"])),
            "country": "XX",
            "name": "   ",
        }[bad]
        return Row(cells, None)
    stored = {
        "id": cells["id"],
        "email": cells["email"].strip().lower(),
        "name": cells["name"].strip(),
        "created_at": when.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    stored |= {"age": int(age)} if age else {}
    stored |= {k: cells[k].strip() for k in ("country", "notes") if cells[k].strip()}
    if len(stored.get("notes", "")) > 2000 or len(stored["name"]) > 200:
        return Row(cells, None)
    return Row(cells, stored)


def without_repeats(rows: list[Row | None]) -> list[Row | None]:
    """The rows with a valid row repeating an earlier valid row's id made invalid: the first one stands."""
    seen: set[str] = set()
    out: list[Row | None] = []
    for row in rows:
        if row is not None and row.stored is not None:
            repeat = row.stored["id"] in seen
            seen.add(row.stored["id"])
            if repeat:
                out.append(Row(row.cells, None))
                continue
        out.append(row)
    return out


ids = st.lists(st.one_of(st.integers(0, 10**6), st.integers(0, 5)), min_size=1, max_size=30)
"""Contact numbers: mostly distinct, some repeated."""


@st.composite
def contacts_file(draw: st.DrawFn) -> tuple[str, list[Row | None]]:
    """CSV text and, per non-blank record in file order, the row it holds (None: a wrong-width record)."""
    rows = [draw(contact(i)) for i in draw(ids)]
    line_end = draw(st.sampled_from(LINE_ENDS))
    out = io.StringIO(newline="")
    out.write(_record(COLUMNS, line_end))
    expected: list[Row | None] = []
    for row in rows:
        if draw(st.integers(0, 9)) == 0:
            out.write(line_end * draw(st.integers(1, 2)))  # blank lines between records
        cells = [row.cells[c] for c in COLUMNS]
        wrong_width = draw(st.integers(0, 14)) == 0
        if wrong_width:
            cells = [*cells, "extra"] if draw(st.booleans()) else cells[:-1]
        out.write(_record(cells, line_end))
        expected.append(None if wrong_width else row)
    text = out.getvalue()
    if draw(st.booleans()):
        text = text.removesuffix(line_end)
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text, without_repeats(expected)


def _record(cells: list[str], line_end: str) -> str:
    """One record as the csv module writes it, quoting any field with a CR or LF, ended by `line_end`."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().removesuffix("\r\n") + line_end


def _oracle_records(text: str) -> list[tuple[int, list[str]]]:
    """(start line, cells) of every non-blank record after the header, as the csv module reads them."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    records, end = [], 0
    for cells in reader:
        start, end = end + 1, reader.line_num
        if cells:
            records.append((start, cells))
    return records[1:]


def _validate(
    data: bytes,
    key: str,
    batch: int,
    chunk: int,
    max_keys: int | None = None,
    *,
    leg_batches: int | None = None,
) -> list[ValidRow | InvalidRow]:
    limits = ReadLimits(batch_rows=batch, chunk_bytes=chunk)
    if leg_batches is not None:
        fmt = FileFormat.from_key(key)
        return _validate_in_legs(data, fmt, limits, max_keys or DEFAULT_MAX_KEYS, leg_batches)
    with KeyTracker(max_keys=max_keys) if max_keys else KeyTracker() as keys:
        return list(validate_stream(io.BytesIO(data), FileFormat.from_key(key), CONTACTS, limits, keys=keys))


def _validate_in_legs(
    data: bytes, fmt: FileFormat, limits: ReadLimits, max_keys: int, leg_batches: int
) -> list[ValidRow | InvalidRow]:
    """The outcomes of a pass run as invocations that each stop after `leg_batches` batches; only bytes
    (JSON, the tracker's saved state and spill pieces) go from one to the next, as through S3."""
    start: ReadCheckpoint | None = None
    saved: SavedKeys | None = None
    spilled: list[dict[int, bytes]] = []  # per leg: partition -> piece
    batches: list[ValidatedBatch] = []
    while True:
        rest = io.BytesIO(data[start.offset :] if start else data)  # a ranged GET of the rest
        keys = KeyTracker.resumed(saved, max_keys) if saved else KeyTracker(max_keys)
        with keys:
            leg_start = len(batches)
            leg = Leg(
                ValidationPass(rest, fmt, CONTACTS, limits, keys=keys, start=start),
                out_of_time=lambda: len(batches) - leg_start >= leg_batches,  # noqa: B023 - read at once
            )
            batches.extend(leg)
            memory, passed, spilling = keys.save()  # an object, then two fields of the job
            saved = SavedKeys(bytes(memory), *json.loads(json.dumps([passed, spilling])))
            spilled.append({index: piece.read() for index, piece in keys.spill_pieces()})
        if leg.stopped_at is None:
            break
        assert len(spilled) < 10_000, "a leg made no progress"
        start = ReadCheckpoint.from_dict(json.loads(json.dumps(leg.stopped_at.to_dict())))
    with KeyTracker.resumed(saved, max_keys) as joined:
        for pieces in spilled:
            for index, piece in pieces.items():
                joined.add_spilled(index, io.BytesIO(piece))
        late = joined.later_duplicates()
        return list(settle(batches, late, CONTACTS.primary_key, CONTACTS.columns))


chunk_sizes = st.one_of(st.integers(1, 64), st.just(64 * 1024))
"""Bytes per read: tiny ones split characters and line ends; the large one holds a whole file in one block."""
key_memory = st.sampled_from([None, None, 1, 3])
"""Keys the tracker holds in memory (None: the default); past a tiny cap repeats are found after the pass."""
leg_budget = st.sampled_from([None, 1, 1, 2, 5])
"""Batches an invocation reads before its time is up (None: the whole file in one)."""


def _check_csv(
    text: str,
    expected: list[Row | None],
    batch: int,
    chunk: int,
    max_keys: int | None,
    *,
    leg_batches: int | None = None,
) -> None:
    outcomes = _validate(text.encode(), "contacts.csv", batch, chunk, max_keys, leg_batches=leg_batches)
    records = _oracle_records(text)
    # One outcome per record the csv module reads, at the line where that record starts
    assert len(records) == len(expected)
    assert [o.line for o in outcomes] == [line for line, _ in records]
    # Stored exactly the rows generated valid, with their normalised values; every other one reported
    for outcome, row, (_, cells) in zip(outcomes, expected, records, strict=True):
        if row is None or row.stored is None:
            assert isinstance(outcome, InvalidRow), (outcome, cells)
        else:
            assert outcome == ValidRow(outcome.line, row.stored), cells
    stored = sum(isinstance(o, ValidRow) for o in outcomes)
    assert stored + sum(isinstance(o, InvalidRow) for o in outcomes) == len(records)


def _check_json(
    rows: list[Row],
    key: str,
    data: bytes,
    sizes: tuple[int, int, int | None],
    oracle_count: int,
    *,
    oracle_lines: list[int] | None = None,
    leg_batches: int | None = None,
) -> None:
    outcomes = _validate(data, key, *sizes, leg_batches=leg_batches)
    assert len(outcomes) == oracle_count == len(rows)
    if oracle_lines is not None:
        assert [o.line for o in outcomes] == oracle_lines
    for outcome, row in zip(outcomes, without_repeats(list(rows)), strict=True):
        assert row is not None
        if row.stored is None:
            assert isinstance(outcome, InvalidRow)
        else:
            assert isinstance(outcome, ValidRow) and outcome.record == row.stored


def _json_objects(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as JSON objects: integers as numbers, empty cells left out."""
    objects = []
    for row in rows:
        obj = {k: v for k, v in row.cells.items() if v != ""}
        if "age" in obj and obj["age"].lstrip("-").isdigit():
            obj["age"] = int(obj["age"])
        objects.append(obj)
    return objects


def _csv_property(data: st.DataObject) -> None:
    text, expected = data.draw(contacts_file())
    _check_csv(
        text,
        expected,
        data.draw(st.integers(1, 20)),
        data.draw(chunk_sizes),
        data.draw(key_memory),
        leg_batches=data.draw(leg_budget),
    )


def _jsonl_property(data: st.DataObject) -> None:
    rows = data.draw(ids.flatmap(lambda numbers: st.tuples(*[contact(i) for i in numbers])))
    objects = _json_objects(list(rows))
    gap = st.sampled_from(["\n", "\n\n", "\r\n", "\n  \n"])
    text = "".join(json.dumps(o, ensure_ascii=data.draw(st.booleans())) + data.draw(gap) for o in objects)
    lines = text.split("\n")
    oracle = [json.loads(line) for line in lines if line.strip()]
    oracle_lines = [number for number, line in enumerate(lines, start=1) if line.strip()]
    sizes = data.draw(st.integers(1, 20)), data.draw(chunk_sizes), data.draw(key_memory)
    _check_json(
        list(rows),
        "contacts.jsonl",
        text.encode(),
        sizes,
        len(oracle),
        oracle_lines=oracle_lines,
        leg_batches=data.draw(leg_budget),
    )


def _json_array_property(data: st.DataObject) -> None:
    rows = data.draw(ids.flatmap(lambda numbers: st.tuples(*[contact(i) for i in numbers])))
    space = st.text(alphabet=" \t\r\n", max_size=6)
    parts = [json.dumps(o, indent=data.draw(st.sampled_from([None, 2]))) for o in _json_objects(list(rows))]
    text = data.draw(space) + "[" + ",".join(data.draw(space) + p + data.draw(space) for p in parts) + "]"
    text += data.draw(space)
    sizes = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 64)), data.draw(key_memory)
    _check_json(list(rows), "contacts.json", text.encode(), sizes, len(json.loads(text)))


_QUICK = settings(max_examples=DEFAULT_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SLOW = settings(max_examples=SLOW_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_QUICK
@given(st.data())
def test_every_csv_record_is_stored_or_reported(data: st.DataObject) -> None:
    _csv_property(data)


@_QUICK
@given(st.data())
def test_every_json_lines_record_is_stored_or_reported(data: st.DataObject) -> None:
    _jsonl_property(data)


@_QUICK
@given(st.data())
def test_every_json_array_element_is_stored_or_reported(data: st.DataObject) -> None:
    _json_array_property(data)


@pytest.mark.slow
@pytest.mark.thorough
@_SLOW
@given(st.data())
def test_thousands_of_csv_files(data: st.DataObject) -> None:
    _csv_property(data)


@pytest.mark.slow
@pytest.mark.thorough
@_SLOW
@given(st.data())
def test_thousands_of_json_files(data: st.DataObject) -> None:
    _jsonl_property(data)
    _json_array_property(data)


def test_the_reported_file_keeps_all_thirty_records() -> None:
    # Given the shape that lost rows: CRLF lines, one quoted two-line note, batches of seven
    header = "id,email,name,age,created_at,country,notes\r\n"
    rows = "".join(
        f"c-{i:06d},u{i}@example.com,N {i},30,2023-01-01T00:00:00Z,US,"
        + ('"line one\nline two"' if i == 5 else "x")
        + "\r\n"
        for i in range(30)
    )
    # When it is validated
    outcomes = _validate((header + rows).encode(), "x.csv", batch=7, chunk=256 * 1024)
    # Then all thirty are stored, the multi-line one at its first line
    assert len(outcomes) == 30 and all(isinstance(o, ValidRow) for o in outcomes)
    assert outcomes[5].line == 7 and outcomes[6].line == 9
