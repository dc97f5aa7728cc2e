"""Batch messages: rows inline or behind a claim check, and malformed ones refused."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from tenant_pipeline.errors import BatchMessageError
from tenant_pipeline.imports.batch_message import BatchHeader, BatchMessage, encode_rows

HEADER = BatchHeader(
    job_id="imp-1", tenant_id="acme", entity="orders", batch_number=3, row_count=2, columns=("id", "amount")
)


def test_inline_rows_round_trip_with_decimals_as_strings() -> None:
    body = HEADER.body(encode_rows([["o-1", Decimal("10.50")], ["o-2", 7]]))
    message = BatchMessage.parse(body)
    assert message.header == HEADER
    assert message.rows == [["o-1", "10.50"], ["o-2", 7]]
    assert message.claim_check is None


def test_claim_check_points_inside_the_jobs_batch_folder() -> None:
    key = "batches/acme/imp-1/000003.json"
    message = BatchMessage.parse(HEADER.claim_check_body("bucket", key))
    assert message.rows is None
    assert message.claim_check == ("bucket", key)


@pytest.mark.parametrize(
    "key",
    ["batches/globex/imp-1/000003.json", "batches/acme/imp-1/../../x.json"],
)
def test_a_claim_check_outside_the_jobs_folder_is_refused(key: str) -> None:
    with pytest.raises(BatchMessageError, match="outside"):
        BatchMessage.parse(HEADER.claim_check_body("bucket", key))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "malformed"),
        (json.dumps({"v": 1, "job_id": "imp-1"}), "malformed"),
        (HEADER.body(b'[["o-1", "1"]]'), "does not hold 2 rows"),
        (HEADER.body(b'[["o-1"], ["o-2", "1"]]'), "not 2 values"),
        (json.dumps({**json.loads(HEADER.body(b"[]")), "v": 9, "row_count": 0}), "version"),
    ],
)
def test_a_malformed_message_is_refused(body: str | bytes, reason: str) -> None:
    with pytest.raises(BatchMessageError, match=reason):
        BatchMessage.parse(body)


def test_the_tenants_shard_count_travels_with_the_batch_and_an_older_message_means_eight() -> None:
    rows = encode_rows([["o-1", 1], ["o-2", 2]])
    assert BatchMessage.parse(replace(HEADER, shard_count=32).body(rows)).header.shard_count == 32
    # A message sent before counts were recorded carries none: its tenant has the legacy 8
    older = json.loads(HEADER.body(rows))
    del older["shard_count"]
    assert BatchMessage.parse(json.dumps(older)).header.shard_count == 8
    for bad in (0, -1, "32", 10_000):
        with pytest.raises(BatchMessageError, match="malformed"):
            BatchMessage.parse(json.dumps({**older, "shard_count": bad}))
