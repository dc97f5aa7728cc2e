"""S3 object metadata and JSON payload (`trace` field) carriers."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace

from tenant_telemetry.propagation import (
    TRACE_FIELD,
    inject_object_metadata,
    inject_payload,
    object_context,
    payload_context,
    xray_context,
)
from tenant_telemetry.testing import InMemoryTelemetry

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def parent_span_id(context: object) -> str:
    return f"{trace.get_current_span(context).get_span_context().span_id:016x}"  # type: ignore[arg-type]


def test_object_metadata_round_trip(memory: InMemoryTelemetry) -> None:
    # Given an uploader that writes its context into the object's metadata
    with memory.telemetry.tracer.start_as_current_span("upload") as upload:
        metadata = inject_object_metadata({"content-source": "crm"})
    assert metadata["content-source"] == "crm"
    # When the importer reads the metadata back as boto3's head_object gives it
    context = object_context(metadata)
    # Then the job's spans are children of the upload span
    assert parent_span_id(context) == f"{upload.get_span_context().span_id:016x}"


@pytest.mark.parametrize(
    "metadata",
    [
        {"traceparent": TRACEPARENT},  # boto3 strips the prefix
        {"x-amz-meta-traceparent": TRACEPARENT},  # raw HTTP headers keep it
        {"X-Amz-Meta-Traceparent": TRACEPARENT},
    ],
)
def test_object_metadata_is_read_with_or_without_the_http_prefix(metadata: dict[str, str]) -> None:
    assert parent_span_id(object_context(metadata)) == "b7ad6b7169203331"


@pytest.mark.parametrize("metadata", [None, {}, {"traceparent": "01-nope"}, {"traceparent": "00-abc-def-01"}])
def test_object_without_a_valid_traceparent_starts_a_new_trace(
    metadata: dict[str, str] | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        context = object_context(metadata, source="s3://ingest/tenants/acme/imports/contacts/c.csv")
    assert not trace.get_current_span(context).get_span_context().is_valid
    assert "s3://ingest/tenants/acme/imports/contacts/c.csv" in caplog.text
    assert "starting a new trace" in caplog.text


def test_payload_round_trip_through_json(memory: InMemoryTelemetry) -> None:
    # Given a Step Functions execution input written by the caller's span
    with memory.telemetry.tracer.start_as_current_span("tenantctl migrate") as caller:
        execution_input = json.dumps(inject_payload({"tenant_id": "acme", "target_region": "eu-west-1"}))
    payload = json.loads(execution_input)
    assert payload["tenant_id"] == "acme"
    assert set(payload[TRACE_FIELD]) == {"traceparent"}
    # Then a task reading the input is a child of the caller
    assert parent_span_id(payload_context(payload)) == f"{caller.get_span_context().span_id:016x}"


def test_payload_accepts_a_bare_traceparent_string() -> None:
    assert parent_span_id(payload_context({"trace": TRACEPARENT})) == "b7ad6b7169203331"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"trace": None},
        {"trace": 42},
        {"trace": {"traceparent": 42}},
        {"trace": {"traceparent": "garbage"}},
        {"trace": {"tracestate": "a=b"}},
        "not an object",
        None,
    ],
)
def test_payload_without_a_valid_trace_starts_a_new_trace(
    payload: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        context = payload_context(payload, source="execution input")
    assert not trace.get_current_span(context).get_span_context().is_valid
    assert "execution input 'trace'" in caplog.text


def test_inject_payload_does_not_change_the_original(memory: InMemoryTelemetry) -> None:
    original = {"tenant_id": "acme"}
    with memory.telemetry.tracer.start_as_current_span("caller"):
        inject_payload(original)
    assert original == {"tenant_id": "acme"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", (False,)),
        (
            "Parent=53995c3f42cd8ad8; Root=1-5759e988-bd862e3fe1be46a994272793; Sampled=1; Lineage=a:1",
            (True,),
        ),
    ],
)
def test_xray_header_fields_in_any_order(header: str, expected: tuple[bool]) -> None:
    extracted = xray_context(header)
    assert extracted is not None
    context = trace.get_current_span(extracted).get_span_context()
    assert f"{context.trace_id:032x}" == "5759e988bd862e3fe1be46a994272793"
    assert context.trace_flags.sampled is expected[0]
