"""Properties (hypothesis): the shard function, and the export round trip of adversarial strings.

The migration checksum's order independence and single-field sensitivity are already properties in
tests/unit/migration/test_checksum.py, so they are not repeated here.
"""

from __future__ import annotations

import binascii
import csv
import io
import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.export.serialisers import serialiser_for
from tenant_pipeline.formula import unescape_formula
from tenant_pipeline.store.keys import data_pk, record_pk, shard_of

RECORD_IDS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=64)
SHARD_COUNTS = st.integers(min_value=1, max_value=256)


@given(record_id=RECORD_IDS, shards=SHARD_COUNTS)
def test_a_records_shard_is_in_range_and_the_same_every_time(record_id: str, shards: int) -> None:
    shard = shard_of(record_id, shards)
    assert 0 <= shard < shards
    assert shard == shard_of(record_id, shards)
    # stable across processes and languages: the CRC-32 of the UTF-8 id, as any other reader computes it
    assert shard == binascii.crc32(record_id.encode("utf-8")) % shards


@given(tenant=st.from_regex(r"[a-z0-9][a-z0-9-]{1,62}", fullmatch=True), record_id=RECORD_IDS)
def test_a_records_partition_key_names_its_tenant_and_entity_exactly(tenant: str, record_id: str) -> None:
    pk = record_pk(tenant, "contacts", record_id, 8)
    assert pk == data_pk(tenant, "contacts", shard_of(record_id, 8))
    assert pk.split("#") == [tenant, "contacts", str(shard_of(record_id, 8))]


def test_sequential_ids_spread_evenly_over_the_shards() -> None:
    # 8,000 ids of the shape importers use: each of 8 shards gets its share within 10%
    counts = Counter(shard_of(f"c-{n}", 8) for n in range(8000))
    assert sorted(counts) == list(range(8))
    assert all(900 <= count <= 1100 for count in counts.values()), counts


@settings(max_examples=50)
@given(prefix=st.sampled_from(["c-", "order-", "", "x"]), shards=st.integers(min_value=2, max_value=32))
def test_any_id_scheme_reaches_every_shard(prefix: str, shards: int) -> None:
    counts = Counter(shard_of(f"{prefix}{n}", shards) for n in range(200 * shards))
    assert len(counts) == shards
    assert min(counts.values()) >= 100  # half the fair share at least


ADVERSARIAL_ALPHABET = st.sampled_from(
    [
        *"\"',;|\\ =+-@\t\r\nab",
        "\r\n",
        "🦄",
        "👩\u200d👩\u200d👧",
        "\u202e",
        "\u202c",
        "\u200f",
        "\u200e",
        "é",
        "\u00a0",
    ]
)
ADVERSARIAL = st.lists(ADVERSARIAL_ALPHABET, max_size=24).map("".join)
COLUMNS = ("id", "name", "notes")


def _records(names: list[str], notes: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": f"r{i}", "name": name, "notes": note}
        for i, (name, note) in enumerate(zip(names, notes, strict=False))
    ]


def _serialise(fmt: ExportFormat, records: list[dict[str, Any]]) -> str:
    return b"".join(serialiser_for(fmt, COLUMNS).chunks(records)).decode("utf-8")


@given(
    names=st.lists(ADVERSARIAL, min_size=1, max_size=8), notes=st.lists(ADVERSARIAL, min_size=8, max_size=8)
)
def test_csv_export_round_trips_adversarial_strings_exactly(names: list[str], notes: list[str]) -> None:
    records = _records(names, notes)
    rows = list(csv.DictReader(io.StringIO(_serialise(ExportFormat.CSV, records), newline="")))
    back = [{column: unescape_formula(row[column]) for column in COLUMNS} for row in rows]
    assert back == [{column: record[column] for column in COLUMNS} for record in records]
    # and no cell a spreadsheet would run: formula triggers never come first
    assert not any(row[column][:1] in ("=", "+", "-", "@", "\t", "\r") for row in rows for column in COLUMNS)


@given(
    names=st.lists(ADVERSARIAL, min_size=1, max_size=8), notes=st.lists(ADVERSARIAL, min_size=8, max_size=8)
)
def test_json_exports_round_trip_adversarial_strings_exactly(names: list[str], notes: list[str]) -> None:
    records = _records(names, notes)
    lines = _serialise(ExportFormat.JSONL, records).split("\n")
    assert [json.loads(line) for line in lines if line] == records
    assert json.loads(_serialise(ExportFormat.JSON, records)) == records
