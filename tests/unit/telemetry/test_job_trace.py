"""One trace per job: the root allocated at the start, emitted at the end, parent of every span between."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from tenant_telemetry import JobTrace, JobTraceError, consumer_span, instrument_handler
from tenant_telemetry.propagation import inject_batch_entries, object_context
from tenant_telemetry.testing import InMemoryTelemetry
from tests.unit.telemetry.lambda_shapes import FakeLambdaContext, sqs_event, sqs_record

UPLOADER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_root_emitted_last_is_the_parent_of_spans_from_other_invocations(
    memory: InMemoryTelemetry,
) -> None:
    jobs_table: dict[str, str] = {}  # the job record, as JSON, between invocations

    @instrument_handler
    def validate(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
        # Invocation 1: the job starts, joining the uploader's trace from the object metadata
        job = JobTrace.start(
            "data.import", parent=object_context(event["metadata"]), attributes={"tenant.id": "acme"}
        )
        jobs_table["job-1"] = json.dumps(job.to_dict())
        with job.span("data.import.validate"):
            # the batch messages carry the job's root context: each batch is a child of the root
            entries = [{"Id": str(i), "MessageBody": str(i)} for i in range(2)]
            return inject_batch_entries(entries, context=job.context())

    @instrument_handler
    def load(event: dict[str, Any], context: Any) -> None:
        # Invocation 2 (another function, maybe another sandbox): per-message work
        for record in event["Records"]:
            with consumer_span(record, name="data.import.batch"):
                pass

    @instrument_handler
    def complete(event: dict[str, Any], context: Any) -> None:
        # Invocation 3: the job ends; only now is its root span emitted
        JobTrace.from_dict(json.loads(jobs_table[event["job_id"]])).complete(
            attributes={"import.status": "ok"}
        )

    entries = validate({"metadata": {"traceparent": UPLOADER}}, FakeLambdaContext(function_name="validate"))
    load(sqs_event(sqs_record(entry) for entry in entries), FakeLambdaContext(function_name="load"))
    complete({"job_id": "job-1"}, FakeLambdaContext(function_name="complete"))

    job = JobTrace.from_dict(json.loads(jobs_table["job-1"]))
    root = memory.span("data.import")
    assert root.context is not None and root.parent is not None
    # The root carries the allocated ids, the job's real start time, and joins the uploader's trace
    assert (root.context.trace_id, root.context.span_id) == (job.trace_id, job.span_id)
    assert root.start_time == job.start_time_ns
    assert f"{root.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert f"{root.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert root.attributes == {"tenant.id": "acme", "import.status": "ok"}
    # It was emitted after every span it parents, and it covers them all
    names = memory.names()
    assert names.index("data.import") == len(names) - 2  # then the `complete` invocation span
    children = [s for s in memory.spans() if s.name in ("data.import.validate", "data.import.batch")]
    assert len(children) == 3
    for child in children:
        assert child.parent is not None and child.parent.span_id == root.context.span_id
        assert child.context is not None and child.context.trace_id == root.context.trace_id
        assert root.start_time is not None and child.start_time is not None and root.end_time is not None
        assert child.end_time is not None
        assert root.start_time <= child.start_time and child.end_time <= root.end_time
    # The invocation spans stay in their own traces
    for invocation in ("validate", "load", "complete"):
        span = memory.span(invocation)
        assert span.context is not None and span.context.trace_id != root.context.trace_id


def test_without_a_parent_the_job_starts_a_new_trace_even_inside_a_span(memory: InMemoryTelemetry) -> None:
    with memory.telemetry.tracer.start_as_current_span("invocation") as invocation:
        job = JobTrace.start("data.export")
    job.complete()
    root = memory.span("data.export")
    assert root.parent is None
    assert root.context is not None and root.context.trace_id != invocation.get_span_context().trace_id
    assert job.trace_flags & 0x01  # sampled, with the default sampler


def test_job_trace_survives_json(memory: InMemoryTelemetry) -> None:
    job = JobTrace.start(
        "tenant.migration",
        parent=object_context({"traceparent": UPLOADER}),
        attributes={"tenant.id": "acme", "migration.regions": ("us-east-1", "eu-west-1")},
        start_time_ns=1_700_000_000_000_000_000,
    )
    again = JobTrace.from_dict(json.loads(json.dumps(job.to_dict())))
    assert again == job
    assert again.traceparent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert again.trace_id_hex == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_failed_job_root_records_the_error(memory: InMemoryTelemetry) -> None:
    JobTrace.start("data.import").complete(error=ValueError("header misses 'email'"))
    JobTrace.start("data.export").complete(error="over the invalid threshold")
    failed = memory.span("data.import")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ValueError: header misses 'email'"
    assert [event.name for event in failed.events] == ["exception"]
    assert memory.span("data.export").status.description == "over the invalid threshold"


def test_spans_after_the_root_get_fresh_ids(memory: InMemoryTelemetry) -> None:
    job = JobTrace.start("data.import")
    with memory.telemetry.tracer.start_as_current_span("outer"):
        job.complete()
        with memory.telemetry.tracer.start_as_current_span("after") as after:
            pass
    assert after.get_span_context().span_id != job.span_id
    assert memory.span("data.import").parent is None  # the current span did not become its parent


def test_an_unsampled_upstream_trace_stays_unsampled(memory: InMemoryTelemetry) -> None:
    job = JobTrace.start(
        "data.import", parent=object_context({"traceparent": UPLOADER.removesuffix("01") + "00"})
    )
    with job.span("data.import.validate"):
        pass
    job.complete()
    assert memory.spans() == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"name": "x", "traceparent": "garbage", "start_time_unix_nano": 1},
        {"traceparent": UPLOADER, "start_time_unix_nano": 1},
        {"name": "x", "traceparent": UPLOADER, "start_time_unix_nano": "soon"},
        {"name": "x", "traceparent": UPLOADER, "start_time_unix_nano": 1, "parent_span_id": "zz"},
    ],
)
def test_a_damaged_job_record_raises_job_trace_error(data: dict[str, Any]) -> None:
    with pytest.raises(JobTraceError):
        JobTrace.from_dict(data)
