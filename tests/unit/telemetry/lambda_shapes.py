"""Lambda-shaped events and contexts for the telemetry tests, built from the real shapes in tests/events."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

EVENTS = Path(__file__).resolve().parents[2] / "events"
QUEUE = "tenant-pipelines-import-batches-queue"


def sqs_record(
    entry: Mapping[str, Any], *, message_id: str | None = None, queue: str = QUEUE
) -> dict[str, Any]:
    """The Lambda SQS record that a `SendMessageBatch` entry arrives as.

    The event source mapping turns `MessageAttributes.*.StringValue` into `messageAttributes.*.stringValue`.
    """
    template = json.loads((EVENTS / "sqs_import_batches.json").read_text())["Records"][0]
    record = copy.deepcopy(template)
    record["messageId"] = message_id or str(uuid4())
    record["body"] = entry.get("MessageBody", "")
    record["messageAttributes"] = {
        name: {
            "stringValue": value["StringValue"],
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in entry.get("MessageAttributes", {}).items()
    }
    record["eventSourceARN"] = f"arn:aws:sqs:us-east-1:123456789012:{queue}"
    return record


def sqs_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": [dict(record) for record in records]}


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context object that the telemetry layer reads."""

    function_name: str = "tenant-pipelines-import-load"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tenant-pipelines-import-load"
    memory_limit_in_mb: int = 512
    timeout_ms: float = 30_000
    aws_request_id: str = field(default_factory=lambda: str(uuid4()))
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (time.monotonic() - self.started) * 1000)
