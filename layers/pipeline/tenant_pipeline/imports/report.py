"""The job's error report: `line,field,value,reason`, one line per field error, streamed.

Lines go to a temporary file, never to memory, and the file is uploaded once at the end of
validation (multipart above the transfer threshold), so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from typing import IO, TYPE_CHECKING, Any

from tenant_pipeline.formats.batch import excerpt
from tenant_pipeline.formula import escape_formula

if TYPE_CHECKING:
    from tenant_pipeline.store.objects import ObjectStore

HEADER = ("line", "field", "value", "reason")


def report_cell(value: object) -> str:
    """An offending value as the report shows it: a short excerpt, escaped as CSV exports escape cells."""
    return escape_formula("" if value is None else excerpt(value))


class ErrorReport:
    """Collects report lines in a temporary file; `upload` puts the finished CSV in S3."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the report
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=False)
        self._writer = csv.writer(self._text)
        self._writer.writerow(HEADER)
        self.lines = 0

    def add(self, line: int | str, field: str, value: object, reason: str) -> None:
        self._writer.writerow((line, field, report_cell(value), reason))
        self.lines += 1

    def add_row_errors(self, line: int, errors: Any) -> None:
        """All field errors of one invalid row (`FieldError`s with field, value, reason)."""
        self._writer.writerows(
            (line, error.field, report_cell(error.value), error.reason) for error in errors
        )
        self.lines += len(errors)

    def upload(self, objects: ObjectStore, bucket: str, key: str) -> str:
        """Upload the report as it stands; returns its `s3://` URI."""
        self._text.flush()
        self._file.seek(0)
        return objects.upload_file(bucket, key, self._file, "text/csv; charset=utf-8")

    def saved(self) -> IO[bytes]:
        """The report as it stands (header included), rewound, to keep it as a part of a longer one."""
        self._text.flush()
        self._file.seek(0)
        return self._file

    def extend(self, part: IO[bytes]) -> None:
        """Append the lines of a part saved earlier (`saved`), after its header."""
        self._text.flush()
        part.readline()  # the header: its cells hold no line break
        shutil.copyfileobj(part, self._file)

    def save(self, path: str) -> None:
        """Write the report as it stands to a local file."""
        self._text.flush()
        self._file.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(self._file, out)
        self._file.seek(0, io.SEEK_END)

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> ErrorReport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
