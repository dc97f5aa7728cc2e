"""Readers that stop after any batch and go on from the byte offset they name, on the rest of the file.

Each file is read one record per batch, and after every batch a new reader starts on the bytes from the
named offset (as a ranged read would give them), so every record boundary is a stopping point. The
records, their start lines and which ones are too long must be what the standard library's `csv` and
line splitting say, whatever the chunk size: line ends split across chunks, a CR at a chunk's end, a BOM,
over-long lines that are replaced while reading.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from tenant_pipeline.formats import CsvReader, JsonLinesReader, ReadLimits
from tenant_pipeline.formats.csv import ResumePoint

CAP = 24
LONG = "x" * (CAP + 5)


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def _csv_in_legs(data: bytes, chunk: int) -> list[tuple[int, list[str], bool]]:
    """(start line, cells, too long) of every record, each leg reading one batch of one record."""
    limits = ReadLimits(batch_rows=1, chunk_bytes=chunk, max_line_bytes=CAP)
    reader = CsvReader(_chunks(data, chunk), limits)
    header, out = reader.header, []
    while True:
        point = None
        for batch in reader.batches():
            records = enumerate(zip(batch.lines, batch.rows, strict=True))
            out += [(line, row, i in batch.problems) for i, (line, row) in records]
            point = reader.resume_point()
            if point is not None:
                break
        else:
            return out
        rest = _chunks(data[point.offset :], chunk)
        reader = CsvReader(rest, limits, header=header, start=point)


def _csv_oracle(text: str) -> list[tuple[int, list[str], bool]]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    records, end = [], 0
    for cells in reader:
        start, end = end + 1, reader.line_num
        if cells:
            records.append((start, cells, any(len(cell) > CAP for cell in cells)))
    return [(line, [] if long else cells, long) for line, cells, long in records[1:]]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13, 64 * 1024])
@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_csv_resumed_at_every_record_reads_what_the_csv_module_reads(chunk: int, end: str) -> None:
    rows = ["a,b", "1,é", LONG, '"q\r\nr",ü', "", LONG, LONG, "2,ß", "3,x"]
    text = "\ufeff" + end.join(rows) + end
    got = [(line, [] if long else cells, long) for line, cells, long in _csv_in_legs(text.encode(), chunk)]
    assert got == _csv_oracle(text)


def _jsonl_in_legs(data: bytes, chunk: int) -> list[tuple[int, bytes]]:
    limits = ReadLimits(batch_rows=1, chunk_bytes=chunk, max_line_bytes=CAP)
    reader = JsonLinesReader(_chunks(data, chunk), limits)
    out = []
    while True:
        point: ResumePoint | None = None
        for lines, raw in reader.raw_batches():
            out += list(zip(lines, raw, strict=True))
            point = reader.resume_point()
            if point is not None:
                break
        else:
            return out
        reader = JsonLinesReader(_chunks(data[point.offset :], chunk), limits, start=point)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13, 64 * 1024])
def test_json_lines_resumed_at_every_record_reads_every_line_once(chunk: int) -> None:
    lines = ['{"a": 1}', "", '{"é": 2}', '"' + LONG + '"', "  ", '"' + LONG + '"', "[3]", "4"]
    text = "\n".join(lines)
    expected = [
        (number, b"" if len(line.encode()) > CAP else line.encode())
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
    assert _jsonl_in_legs(text.encode(), chunk) == expected
