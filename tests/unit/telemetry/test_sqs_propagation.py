"""SQS: inject into SendMessage / SendMessageBatch attributes, extract from the Lambda record."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace
from opentelemetry.context import Context

from tenant_telemetry.propagation import (
    MAX_MESSAGE_ATTRIBUTES,
    inject_batch_entries,
    inject_message_attributes,
    record_context,
)
from tenant_telemetry.testing import InMemoryTelemetry
from tests.unit.telemetry.lambda_shapes import sqs_record

PROPAGATION_LOGGER = "tenant_telemetry.propagation"


def parent_of(context: Context) -> trace.SpanContext:
    return trace.get_current_span(context).get_span_context()


def test_batch_entries_carry_the_producer_context_to_the_lambda_record(memory: InMemoryTelemetry) -> None:
    # Given a producer span that sends a batch of messages
    with memory.telemetry.tracer.start_as_current_span("data.import.validate") as producer:
        entries = inject_batch_entries([{"Id": str(i), "MessageBody": f"batch {i}"} for i in range(3)])
    # When each entry arrives as a Lambda SQS record and its context is extracted
    contexts = [record_context(sqs_record(entry)) for entry in entries]
    # Then every message continues the producer's trace, with the producer's span as parent
    for context in contexts:
        parent = parent_of(context)
        assert parent.trace_id == producer.get_span_context().trace_id
        assert parent.span_id == producer.get_span_context().span_id
        assert parent.is_remote


def test_existing_attributes_are_kept_and_not_mutated(memory: InMemoryTelemetry) -> None:
    original = {"job_id": {"DataType": "String", "StringValue": "job-1"}}
    with memory.telemetry.tracer.start_as_current_span("send"):
        attributes = inject_message_attributes(original)
    assert set(attributes) == {"job_id", "traceparent"}
    assert original == {"job_id": {"DataType": "String", "StringValue": "job-1"}}
    assert attributes["traceparent"]["DataType"] == "String"


def test_tracestate_travels_with_traceparent() -> None:
    carrier_record = sqs_record(
        {
            "MessageAttributes": {
                "traceparent": {
                    "DataType": "String",
                    "StringValue": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                },
                "tracestate": {"DataType": "String", "StringValue": "vendor=abc"},
            }
        }
    )
    parent = parent_of(record_context(carrier_record))
    assert parent.trace_state.get("vendor") == "abc"
    # And injecting that context again writes both attributes
    attributes = inject_message_attributes(context=record_context(carrier_record))
    assert attributes["tracestate"]["StringValue"] == "vendor=abc"


def full(count: int) -> dict[str, dict[str, str]]:
    return {f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(count)}


def test_a_message_with_ten_attributes_is_sent_without_context_and_a_warning(
    memory: InMemoryTelemetry, caplog: pytest.LogCaptureFixture
) -> None:
    with memory.telemetry.tracer.start_as_current_span("send"), caplog.at_level(logging.WARNING):
        attributes = inject_message_attributes(full(MAX_MESSAGE_ATTRIBUTES))
    assert attributes == full(MAX_MESSAGE_ATTRIBUTES)
    assert "traceparent not sent" in caplog.text


def test_a_message_with_room_for_one_gets_traceparent_only(caplog: pytest.LogCaptureFixture) -> None:
    context = record_context(
        sqs_record(
            {
                "MessageAttributes": {
                    "traceparent": {
                        "DataType": "String",
                        "StringValue": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    },
                    "tracestate": {"DataType": "String", "StringValue": "vendor=abc"},
                }
            }
        )
    )
    with caplog.at_level(logging.WARNING):
        attributes = inject_message_attributes(full(MAX_MESSAGE_ATTRIBUTES - 1), context=context)
    assert len(attributes) == MAX_MESSAGE_ATTRIBUTES
    assert "traceparent" in attributes
    assert "tracestate" not in attributes
    assert "tracestate not sent" in caplog.text


def test_no_current_span_injects_nothing_and_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert inject_message_attributes({"job_id": {"DataType": "String", "StringValue": "j"}}) == {
            "job_id": {"DataType": "String", "StringValue": "j"}
        }
    assert caplog.text == ""


def test_xray_header_is_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    # Given a message from a producer that only has X-Ray (no W3C attributes)
    record = sqs_record({})
    record["attributes"]["AWSTraceHeader"] = (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    parent = parent_of(record_context(record))
    assert f"{parent.trace_id:032x}" == "5759e988bd862e3fe1be46a994272793"
    assert f"{parent.span_id:016x}" == "53995c3f42cd8ad8"
    assert parent.trace_flags.sampled


def test_w3c_attributes_win_over_the_xray_header() -> None:
    record = sqs_record(
        {
            "MessageAttributes": {
                "traceparent": {
                    "DataType": "String",
                    "StringValue": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                }
            }
        }
    )
    record["attributes"]["AWSTraceHeader"] = (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"
    )
    assert f"{parent_of(record_context(record)).trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"


@pytest.mark.parametrize(
    ("message_attributes", "system_attributes", "reason"),
    [
        ({}, {}, "no trace context"),
        ({"traceparent": {"DataType": "String", "StringValue": "00-zz-yy-01"}}, {}, "malformed traceparent"),
        (
            {"traceparent": {"DataType": "String", "StringValue": "00-" + "0" * 32 + "-" + "0" * 16 + "-01"}},
            {},
            "malformed traceparent",
        ),
        ({}, {"AWSTraceHeader": "Root=garbage;Parent=nothex"}, "no trace context"),
        ({}, {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}, "no trace context"),
    ],
)
def test_a_missing_or_malformed_carrier_starts_a_new_trace_with_a_warning(
    memory: InMemoryTelemetry,
    caplog: pytest.LogCaptureFixture,
    message_attributes: dict,
    system_attributes: dict,
    reason: str,
) -> None:
    record = sqs_record({"MessageAttributes": message_attributes})
    record["attributes"].update(system_attributes)
    # When extracted inside another trace's span (the invocation's)
    with (
        memory.telemetry.tracer.start_as_current_span("invocation") as invocation,
        caplog.at_level(logging.WARNING, logger=PROPAGATION_LOGGER),
    ):
        context = record_context(record)
        with memory.telemetry.tracer.start_as_current_span("work", context=context) as work:
            pass
    # Then the work starts a new trace (it does not join the invocation's) and a warning says why
    assert not parent_of(context).is_valid
    assert work.get_span_context().trace_id != invocation.get_span_context().trace_id
    assert reason in caplog.text
    assert record["messageId"] in caplog.text


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"messageAttributes": "not a map"},
        {"messageAttributes": {"traceparent": "bare"}},
        {"attributes": 3},
        None,
    ],
)
def test_records_of_the_wrong_shape_never_raise(record: object) -> None:
    assert not parent_of(record_context(record)).is_valid


def test_powertools_sqs_record_is_accepted(memory: InMemoryTelemetry) -> None:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    with memory.telemetry.tracer.start_as_current_span("producer") as producer:
        entry = inject_batch_entries([{"Id": "1", "MessageBody": "x"}])[0]
    context = record_context(SQSRecord(sqs_record(entry)))
    assert parent_of(context).span_id == producer.get_span_context().span_id
