"""The execution input contract: a bad input is refused with a message that names the field."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_pipeline.migration.errors import InvalidMigrationRequestError
from tenant_pipeline.migration.request import DEFAULT_CHUNK_ITEMS, MigrationRequest


def test_a_minimal_input_parses_with_defaults() -> None:
    request = MigrationRequest.parse({"tenant_id": "acme", "target_region": "eu-west-1"})
    assert request == MigrationRequest("acme", "eu-west-1", {}, DEFAULT_CHUNK_ITEMS)
    assert request.to_input() == {"tenant_id": "acme", "target_region": "eu-west-1"}


def test_trace_and_chunk_size_round_trip() -> None:
    document = {
        "tenant_id": "acme",
        "target_region": "eu-west-1",
        "trace": {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
        "chunk_items": 10,
    }
    assert MigrationRequest.parse(document).to_input() == document


@pytest.mark.parametrize(
    ("document", "mentions"),
    [
        ("acme", "JSON object"),
        ({}, "no tenant_id"),
        ({"tenant_id": "acme"}, "no target_region"),
        ({"tenant_id": "Acme!", "target_region": "eu-west-1"}, "tenant_id 'Acme!'"),
        ({"tenant_id": "../acme", "target_region": "eu-west-1"}, "does not match"),
        ({"tenant_id": "acme", "target_region": "mars"}, "not an AWS region"),
        ({"tenant_id": "acme", "target_region": 3}, "not an AWS region"),
        ({"tenant_id": "acme", "target_region": "eu-west-1", "trace": "x"}, "trace must be"),
        ({"tenant_id": "acme", "target_region": "eu-west-1", "chunk_items": 0}, "chunk_items"),
        ({"tenant_id": "acme", "target_region": "eu-west-1", "chunk_items": True}, "chunk_items"),
        (
            {"tenant_id": "acme", "target_region": "eu-west-1", "force": True},
            "unknown field(s) in the execution input: force",
        ),
    ],
)
def test_bad_inputs_are_refused_with_the_reason(document: Any, mentions: str) -> None:
    with pytest.raises(InvalidMigrationRequestError, match=None) as caught:
        MigrationRequest.parse(document)
    assert mentions in str(caught.value)
