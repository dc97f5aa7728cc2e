"""The error report: one CSV line per field error, streamed through a temporary file."""

from __future__ import annotations

import csv
import io
from typing import IO

from tenant_pipeline.formula import unescape_formula
from tenant_pipeline.imports.report import HEADER, ErrorReport, report_cell


class _CapturingObjects:
    """Stands in for the S3 adapter: keeps what would be uploaded."""

    def __init__(self) -> None:
        self.uploaded: dict[str, bytes] = {}

    def upload_file(self, bucket: str, key: str, file: IO[bytes], content_type: str) -> str:
        self.uploaded[f"{bucket}/{key}"] = file.read()
        return f"s3://{bucket}/{key}"


class _FieldError:
    def __init__(self, field: str, value: str, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason


def test_report_lines_hold_line_field_excerpt_and_reason() -> None:
    objects = _CapturingObjects()
    with ErrorReport() as report:
        report.add_row_errors(
            3, (_FieldError("email", "not-an-email", "bad format"), _FieldError("age", "x", "not an integer"))
        )
        report.add("", "file", "", "unknown column 'foo'")
        uri = report.upload(objects, "bucket", "r.csv")  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(objects.uploaded["bucket/r.csv"].decode())))
    assert uri == "s3://bucket/r.csv"
    assert rows == [
        list(HEADER),
        ["3", "email", "not-an-email", "bad format"],
        ["3", "age", "x", "not an integer"],
        ["", "file", "", "unknown column 'foo'"],
    ]
    assert report.lines == 3


def test_excerpts_are_short_and_cannot_become_spreadsheet_formulas() -> None:
    assert report_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert report_cell("-1") == "'-1"
    assert len(report_cell("x" * 10_000)) == 80
    assert report_cell(None) == ""


def test_the_escape_is_the_exports_reversible_one() -> None:
    # A value that already starts with an apostrophe and a trigger gains one more, so one comes off
    for value in ("'=1", "''+x", "@home", "plain", "'quoted"):
        assert unescape_formula(report_cell(value)) == value


def test_parts_kept_by_legs_join_into_one_report_that_lines_can_follow() -> None:
    # Given two legs' parts, the second with a value holding a line break
    parts = []
    for lines in ([(2, "email", "x", "not an e-mail")], [(9, "notes", "a\r\nb", "too long")]):
        with ErrorReport() as part:
            for line in lines:
                part.add(*line)
            parts.append(part.saved().read())
    # When a report joins them and a late duplicate follows
    objects = _CapturingObjects()
    with ErrorReport() as report:
        for part_bytes in parts:
            report.extend(io.BytesIO(part_bytes))
        report.add(12, "id", "c-1", "duplicate")
        report.upload(objects, "bucket", "errors.csv")  # type: ignore[arg-type]
    # Then the csv module reads one header and every line, in order
    rows = list(csv.reader(io.StringIO(objects.uploaded["bucket/errors.csv"].decode(), newline="")))
    assert rows == [
        list(HEADER),
        ["2", "email", "x", "not an e-mail"],
        ["9", "notes", "a\r\nb", "too long"],
        ["12", "id", "c-1", "duplicate"],
    ]
