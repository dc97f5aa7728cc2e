"""A sandbox killed the moment the handler returns has already delivered everything of that invocation."""

from __future__ import annotations

import signal

from tests.integration.telemetry.conftest import RunChild
from tests.integration.telemetry.otlp_receiver import OtlpReceiver, attributes
from tests.unit.telemetry.lambda_shapes import sqs_record

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
MESSAGES = 10


def test_sigkill_after_return_loses_nothing(receiver: OtlpReceiver, run_child: RunChild) -> None:
    # Given a full batch of messages from a producer's trace
    records = [
        sqs_record(
            {"MessageAttributes": {"traceparent": {"DataType": "String", "StringValue": TRACEPARENT}}},
            message_id=f"msg-{i}",
        )
        for i in range(MESSAGES)
    ]
    # When the load function handles it and its process is killed with SIGKILL as soon as it returns
    done = run_child("load", {"Records": records}, function="load", sigkill=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    # Then the receiver already holds every span and every metric point of that invocation
    names = sorted(span.name for span in receiver.spans())
    assert names == sorted(
        ["load", "process tenant-pipelines-import-batches-queue"] + ["data.import.batch"] * MESSAGES
    )
    assert all(span.end_time_unix_nano for span in receiver.spans())
    metrics = {metric.name: metric for metric in receiver.metric_list()}
    assert set(metrics) == {"data.import.records_processed"}
    points = metrics["data.import.records_processed"].sum.data_points
    assert sum(point.as_int for point in points) == MESSAGES * 500
    assert attributes(points[0].attributes) == {"tenant.id": "acme", "import.status": "success"}
