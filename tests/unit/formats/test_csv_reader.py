from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_pipeline.formats import (
    CsvReader,
    EmptyFileError,
    EncodingError,
    HeaderError,
    MalformedCsvError,
    ReadLimits,
    RowBatch,
)


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def _read(data: bytes, chunk: int = 7, **limits: int) -> tuple[list[str], list[RowBatch]]:
    reader = CsvReader(_chunks(data, chunk), ReadLimits(**limits))
    return reader.header, list(reader.batches())


def _rows(batches: list[RowBatch]) -> list[tuple[int, list[str]]]:
    return [(line, row) for b in batches for line, row in zip(b.lines, b.rows, strict=True)]


def test_bom_crlf_quotes_and_multiline_fields_keep_start_lines() -> None:
    data = b'\xef\xbb\xbfa,b\r\n1,"x, y"\r\n"multi\r\nline",2\r\n3,"say ""hi"""\r\n'
    header, batches = _read(data)
    assert header == ["a", "b"]
    assert _rows(batches) == [(2, ["1", "x, y"]), (3, ["multi\r\nline", "2"]), (5, ["3", 'say "hi"'])]


def test_blank_lines_are_skipped_but_counted() -> None:
    _, batches = _read(b"a,b\n\n1,2\n\n\n3,4")
    assert _rows(batches) == [(3, ["1", "2"]), (6, ["3", "4"])]


def test_wrong_column_count_is_a_row_problem() -> None:
    _, batches = _read(b"a,b\n1\n1,2,3\n4,5\n")
    (batch,) = batches
    assert batch.lines == [2, 3, 4]
    assert "wrong column count: 1, expected 2" in batch.problems[0][2]
    assert "wrong column count: 3" in batch.problems[1][2]
    assert 2 not in batch.problems


def test_over_long_line_is_a_row_problem_and_reading_resumes() -> None:
    data = b"a,b\n1,2\n3," + b"x" * 5000 + b"\n5,6\n"
    _, batches = _read(data, chunk=100, max_line_bytes=1000)
    rows = _rows(batches)
    assert rows[0] == (2, ["1", "2"]) and rows[-1] == (4, ["5", "6"])
    problems = [p for b in batches for p in b.problems.values()]
    assert len(problems) == 1 and "line too long: 5002 characters" in problems[0][2]


@pytest.mark.parametrize("chunk", range(1, 40))
def test_an_over_long_line_ended_by_a_bare_carriage_return_ends_there_at_any_chunk_size(chunk: int) -> None:
    data = b"a,b\r\n1,2\r3," + b"x" * 20 + b"\r5,6\r\n7,8"
    # The csv module's records, the over-long one (line 3) aside, with the lines they start on
    expected = [(2, ["1", "2"]), (4, ["5", "6"]), (5, ["7", "8"])]
    assert [row for row in csv.reader(io.StringIO(data.decode(), newline=""))][1:] == [
        expected[0][1],
        ["3", "x" * 20],
        *[row for _, row in expected[1:]],
    ]
    _, batches = _read(data, chunk=chunk, max_line_bytes=10)
    rows = _rows(batches)
    problems = [(b.lines[i], p[2]) for b in batches for i, p in b.problems.items()]
    assert [row for row in rows if row[0] != 3] == expected
    assert len(problems) == 1 and problems[0][0] == 3 and "line too long: 22 characters" in problems[0][1]


def test_ten_megabyte_line_without_newline_is_reported_not_buffered() -> None:
    _, batches = _read(b"a,b\n1,2\n" + b"y" * 10_000_000, chunk=65536)
    (batch,) = batches
    assert batch.lines == [2, 3]
    assert "line too long" in batch.problems[1][2]


def test_malformed_quote_on_one_line_is_a_row_problem() -> None:
    _, batches = _read(b'a,b\n"x"y,1\n2,3\n')
    rows = _rows(batches)
    assert rows[-1] == (3, ["2", "3"])
    assert "malformed CSV" in batches[0].problems[0][2]


def test_unbalanced_quote_rejects_the_file_naming_the_line() -> None:
    with pytest.raises(MalformedCsvError, match="record starting at line 3"):
        _read(b'a,b\n1,2\n3,"open\n4,5\n6,7\n')


def test_invalid_utf8_rejects_the_file_with_the_line() -> None:
    with pytest.raises(EncodingError, match="line 3"):
        _read("a,b\n1,2\n3,café\n".encode("latin-1"))


def test_utf16_is_named() -> None:
    with pytest.raises(EncodingError, match="UTF-16"):
        _read("a,b\n1,2\n".encode("utf-16"))


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", EmptyFileError, "empty"),
        (b"\n\n", EmptyFileError, "empty"),
        (b"a,,b\n", HeaderError, "column 2 has no name"),
        (b"a,b,a\n", HeaderError, "'a' more than once"),
        (b",".join(b"c%d" % i for i in range(300)) + b"\n", HeaderError, "limit is 256"),
    ],
)
def test_bad_headers(data: bytes, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        _read(data)


def test_batches_are_bounded() -> None:
    _, batches = _read(b"a\n" + b"x\n" * 25, batch_rows=10)
    assert [len(b.rows) for b in batches] == [10, 10, 5]
    assert batches[2].lines == [22, 23, 24, 25, 26]


cell = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=12) | st.sampled_from(
    ["", '"', ",", "\r\n", "\n", " x ", "a\rb"]
)


@settings(max_examples=300, deadline=None)
@given(
    header=st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=5, unique=True),
    data=st.data(),
    chunk=st.integers(min_value=1, max_value=64),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_matches_pythons_csv_module(
    header: list[str], data: st.DataObject, chunk: int, line_end: str
) -> None:
    # Given a table written by the csv module (quoting whatever needs it)
    body = data.draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=8))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(body)
    text = out.getvalue()
    # When we read it in arbitrary chunks
    got_header, batches = _read(text.encode(), chunk=chunk)
    # Then rows equal the reference parser's, blank records skipped, with the same start lines
    reference = csv.reader(io.StringIO(text, newline=""), strict=True)
    expected = []
    previous_end = 0
    for row in reference:
        start, previous_end = previous_end + 1, reference.line_num
        if row:
            expected.append((start, row))
    assert [got_header, *[r for _, r in _rows(batches)]] == [row for _, row in expected]
    assert [line for line, _ in _rows(batches)] == [line for line, _ in expected[1:]]
    # and exactly the records of another width (a bare "\r" ends a record) are row problems
    flagged = [line for b in batches for i, line in enumerate(b.lines) if i in b.problems]
    assert flagged == [line for line, row in expected[1:] if len(row) != len(header)]
