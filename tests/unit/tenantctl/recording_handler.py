"""A Lambda handler for the local runtime's tests: records what it was given, fails on request."""

from __future__ import annotations

import os
from typing import Any

CALLS: list[dict[str, Any]] = []


class PoisonMessageError(Exception):
    """The test asked the handler to raise."""


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(
        {
            "event": event,
            "function_name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "region": os.environ.get("AWS_REGION"),
            "marker": os.environ.get("RECORDING_MARKER"),
        }
    )
    records = event.get("Records")
    if records is None:
        if event.get("raise"):
            raise PoisonMessageError(str(event["raise"]))
        return {
            "echo": event,
            "region": os.environ.get("AWS_REGION"),
            "marker": os.environ.get("RECORDING_MARKER"),
        }
    if any(record["body"] == "raise" for record in records):
        raise PoisonMessageError("asked to raise")
    return {
        "batchItemFailures": [
            {"itemIdentifier": record["messageId"]} for record in records if record["body"] == "fail"
        ]
    }
