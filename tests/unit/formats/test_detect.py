from __future__ import annotations

import pytest

from tenant_pipeline.formats import FileFormat, FileRejectedError, Kind, UnsupportedFormatError


@pytest.mark.parametrize(
    ("key", "kind", "gzip"),
    [
        ("tenants/acme/imports/contacts/a.csv", Kind.CSV, False),
        ("a.CSV.GZ", Kind.CSV, True),
        ("x/y.jsonl", Kind.JSONL, False),
        ("y.ndjson.gz", Kind.JSONL, True),
        ("z.json", Kind.JSON, False),
        ("z.json.gz", Kind.JSON, True),
    ],
)
def test_from_key_reads_the_suffixes(key: str, kind: Kind, gzip: bool) -> None:
    fmt = FileFormat.from_key(key)
    assert (fmt.kind, fmt.gzip) == (kind, gzip)


@pytest.mark.parametrize(
    "key", ["a.txt", "a.gz", "tenants/acme/imports/contacts/", ".csv", "a.csv.zip", "csv"]
)
def test_from_key_rejects_other_names(key: str) -> None:
    with pytest.raises(UnsupportedFormatError) as err:
        FileFormat.from_key(key)
    assert isinstance(err.value, FileRejectedError)
    assert "unsupported file type" in str(err.value)


def test_name_is_short_and_says_gzip() -> None:
    assert FileFormat.from_key("a.jsonl.gz").name == "jsonl.gz"
    assert FileFormat.from_key("a.csv").name == "csv"
