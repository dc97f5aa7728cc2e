"""Which passes can stop part way: CSV and JSON Lines as they are; a gzip stream or a JSON array never."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from tenant_pipeline.entities import load_entity
from tenant_pipeline.formats import FileFormat, ReadLimits
from tenant_pipeline.validation import KeyTracker, Leg, ReadCheckpoint, ValidationPass

CONTACTS = load_entity("contacts")
ROWS = [
    {"id": f"c-{n}", "email": f"u{n}@example.com", "name": f"N {n}", "created_at": "2024-01-02T03:04:05Z"}
    for n in range(5)
]
CSV = ("id,email,name,created_at\r\n" + "".join(",".join(r.values()) + "\r\n" for r in ROWS)).encode()
JSONL = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
JSON_ARRAY = json.dumps(ROWS).encode()


def _leg(data: bytes, key: str) -> tuple[int, Leg]:
    """One leg over `data` whose time is up after every batch (one record each)."""
    keys = KeyTracker()
    validation = ValidationPass(
        io.BytesIO(data), FileFormat.from_key(key), CONTACTS, ReadLimits(batch_rows=1), keys=keys
    )
    leg = Leg(validation, out_of_time=lambda: True)
    return sum(batch.total for batch in leg), leg


@pytest.mark.parametrize(("data", "key"), [(CSV, "c.csv"), (JSONL, "c.jsonl")])
def test_a_plain_csv_or_json_lines_leg_stops_after_its_first_record(data: bytes, key: str) -> None:
    read, leg = _leg(data, key)
    assert read == 1
    # the next record starts on line 3 (CSV: after the header) or 2, at the byte after the first one's end
    first_end = data.index(b"\n", data.index(b"\n") + 1 if key.endswith(".csv") else 0) + 1
    assert leg.stopped_at is not None and leg.stopped_at.offset == first_end
    assert leg.stopped_at.line == (2 if key.endswith(".csv") else 1)


@pytest.mark.parametrize(
    ("data", "key"),
    [(gzip.compress(CSV), "c.csv.gz"), (gzip.compress(JSONL), "c.jsonl.gz"), (JSON_ARRAY, "c.json")],
)
def test_a_gzip_or_json_array_leg_reads_to_the_end_whatever_its_time(data: bytes, key: str) -> None:
    read, leg = _leg(data, key)
    assert read == len(ROWS) and leg.stopped_at is None
    with pytest.raises(ValueError, match="cannot be read from the middle"):
        ValidationPass(
            io.BytesIO(data),
            FileFormat.from_key(key),
            CONTACTS,
            keys=KeyTracker(),
            start=ReadCheckpoint(9, 1),
        )
