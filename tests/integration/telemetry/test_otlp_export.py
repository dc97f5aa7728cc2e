"""The real OTLP/HTTP exporters, sending a whole import job (three invocations, three processes) to a real
HTTP receiver that decodes the protobuf requests."""

from __future__ import annotations

import json

from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.integration.telemetry.conftest import RunChild
from tests.integration.telemetry.otlp_receiver import OtlpReceiver, attributes

UPLOADER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
UPLOADER_SPAN = "00f067aa0ba902b7"
QUEUE = "tenant-pipelines-import-batches-queue"
SEED_METRICS = {
    "data.import.records_processed",
    "data.import.errors",
    "data.import.duration",
    "data.import.throughput",
    "data.export.duration",
}


def test_a_job_across_three_processes_arrives_as_one_trace(
    receiver: OtlpReceiver, run_child: RunChild
) -> None:
    # Given an uploader's traceparent in the object metadata
    validated = run_child(
        "validate",
        {"metadata": {"traceparent": f"00-{UPLOADER_TRACE}-{UPLOADER_SPAN}-01"}},
        function="validate",
    )
    assert validated.returncode == 0, validated.stderr
    output = json.loads(validated.stdout)
    # When the batches are loaded by another function and the job completes in a third
    loaded = run_child("load", {"Records": output["records"]}, function="load")
    assert loaded.returncode == 0, loaded.stderr
    completed = run_child("complete", {"job": output["job"]}, function="complete")
    assert completed.returncode == 0, completed.stderr

    # Then the receiver holds one trace: the uploader's, rooted at the job's root span
    root = receiver.span("data.import")
    assert root.trace_id.hex() == UPLOADER_TRACE
    assert root.parent_span_id.hex() == UPLOADER_SPAN
    assert output["job"]["traceparent"] == f"00-{UPLOADER_TRACE}-{root.span_id.hex()}-01"
    assert root.start_time_unix_nano == output["job"]["start_time_unix_nano"]
    assert attributes(root.attributes) == {"tenant.id": "acme", "import.status": "succeeded"}

    validate_span = receiver.span("data.import.validate")
    batches = [span for span in receiver.spans() if span.name == "data.import.batch"]
    assert len(batches) == 2
    for child in [validate_span, *batches]:
        assert child.trace_id == root.trace_id
        assert child.parent_span_id == root.span_id
        assert root.start_time_unix_nano <= child.start_time_unix_nano <= child.end_time_unix_nano
        assert child.end_time_unix_nano <= root.end_time_unix_nano

    # The load invocation: SERVER span, its CONSUMER batch span with a link per message
    invocation = receiver.span("load")
    assert invocation.kind == Span.SPAN_KIND_SERVER
    invocation_attributes = attributes(invocation.attributes)
    assert invocation_attributes["faas.trigger"] == "pubsub"
    assert invocation_attributes["faas.coldstart"] is True
    assert invocation_attributes["faas.invocation_id"]
    batch = receiver.span(f"process {QUEUE}")
    assert batch.kind == Span.SPAN_KIND_CONSUMER
    assert batch.parent_span_id == invocation.span_id
    assert attributes(batch.attributes)["messaging.batch.message_count"] == 2
    assert attributes(batch.attributes)["messaging.system"] == "aws_sqs"
    assert [attributes(link.attributes)["messaging.message.id"] for link in batch.links] == ["msg-0", "msg-1"]
    assert {(link.trace_id, link.span_id) for link in batch.links} == {(root.trace_id, root.span_id)}
    for message_span in batches:
        assert message_span.kind == Span.SPAN_KIND_CONSUMER
        assert [link.span_id for link in message_span.links] == [batch.span_id]

    # Resource attributes of each function
    resources = {resource["faas.name"]: resource for resource in receiver.resources()}
    assert set(resources) == {"validate", "load", "complete"}
    assert resources["load"]["cloud.provider"] == "aws"
    assert resources["load"]["cloud.region"] == "us-east-1"
    assert resources["load"]["faas.max_memory"] == 512 * 1024 * 1024
    assert resources["load"]["service.name"] == "load"
    assert receiver.content_types == {"application/x-protobuf"}
    assert {headers["x-tenant-pipelines"] for headers in receiver.headers} == {"test"}

    # The seed metrics, with delta temporality
    metrics = receiver.metric_list()
    assert {metric.name for metric in metrics} == SEED_METRICS
    for metric in metrics:
        data = metric.sum if metric.HasField("sum") else metric.histogram
        assert data.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA, (
            metric.name
        )
    processed = next(m for m in metrics if m.name == "data.import.records_processed")
    assert [point.as_int for point in processed.sum.data_points] == [1_000]
    assert attributes(processed.sum.data_points[0].attributes) == {
        "tenant.id": "acme",
        "import.status": "success",
    }
