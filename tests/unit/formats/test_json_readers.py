from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenant_pipeline.formats import (
    EncodingError,
    JsonArrayReader,
    JsonLinesReader,
    JsonNestingError,
    NotJsonArrayError,
    ReadLimits,
    RecordTooLargeError,
    RowBatch,
)


def _chunks(data: bytes, size: int = 5) -> Iterator[bytes]:
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def _array(data: bytes, **limits: int) -> list[RowBatch]:
    return list(JsonArrayReader(_chunks(data), ReadLimits(**limits)).batches())


def _lines(data: bytes, **limits: int) -> list[RowBatch]:
    return list(JsonLinesReader(_chunks(data), ReadLimits(**limits)).batches())


def _flat(batches: list[RowBatch]) -> list[tuple[int, Any]]:
    return [(line, row) for b in batches for line, row in zip(b.lines, b.rows, strict=True)]


def test_array_elements_stream_with_their_start_lines() -> None:
    data = b'\xef\xbb\xbf[\n  {"a": 1},\n  {"b": "x\\ny"},\n\n  {"c": [1, 2]}\n]\n'
    assert _flat(_array(data)) == [(2, {"a": 1}), (3, {"b": "x\ny"}), (5, {"c": [1, 2]})]


def test_array_in_batches() -> None:
    data = b"[" + b",".join(b'{"i": %d}' % i for i in range(25)) + b"]"
    assert [len(b.rows) for b in _array(data, batch_rows=10)] == [10, 10, 5]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": 1}', "starts with '{'"),
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b'[{"a": 1},]', "trailing comma"),
        (b'[{"a": 1} {"b": 2}]', "expected ',' or ']'"),
        (b'[{"a": 1}', "not closed"),
        (b'[{"a": 1}] [', "unexpected content after"),
        (b'[{"a": tru}]', "invalid JSON"),
    ],
)
def test_not_an_array_of_json_values(data: bytes, reason: str) -> None:
    with pytest.raises(NotJsonArrayError, match=reason):
        _array(data)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(JsonNestingError):
        _array(b"[" * 200_000 + b"]" * 200_000, max_line_bytes=1_000_000)
    with pytest.raises(JsonNestingError, match="deeper than 32"):
        _array(b'[{"a": ' + b"[" * 40 + b"]" * 40 + b"}]")


def test_huge_element_is_refused_without_buffering_the_file() -> None:
    with pytest.raises(RecordTooLargeError, match="larger than 1000"):
        _array(b'[{"a": "' + b"x" * 100_000 + b'"}]', max_line_bytes=1000)


def test_array_with_invalid_utf8() -> None:
    with pytest.raises(EncodingError):
        _array(b'[{"a": "caf\xe9"}]')


def test_jsonl_blank_lines_skipped_and_bad_lines_reported() -> None:
    data = b'{"a":1}\n\n   \n{"b":2}\r\nnot json\n[1]\n{"c":3}'
    batches = _lines(data)
    assert _flat(batches) == [(1, {"a": 1}), (4, {"b": 2}), (5, None), (6, [1]), (7, {"c": 3})]
    (batch,) = batches
    assert list(batch.problems) == [2] and "invalid JSON" in batch.problems[2][2]


def test_jsonl_over_long_line_is_a_row_problem() -> None:
    data = b'{"a":1}\n{"b":"' + b"x" * 500 + b'"}\n{"c":3}\n'
    (batch,) = _lines(data, max_line_bytes=100)
    assert batch.lines == [1, 2, 3]
    assert "line too long" in batch.problems[1][2]


def test_jsonl_invalid_utf8_rejects_the_file() -> None:
    with pytest.raises(EncodingError, match="line 2"):
        _lines(b'{"a":1}\n{"b":"\xe9"}\n')
