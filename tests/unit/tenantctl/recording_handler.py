"""A Lambda handler for the local runtime's tests: records what it was given, fails on request.

`{"await_gate": true}` sets `shared_record.ENTERED`, then waits (boundedly) for the test to open
`shared_record.GATE`; `{"chain": n}` invokes this same function asynchronously with `{"chain": n - 1}`
until n is 0, as a self-continuing export does. Both record their events in `shared_record.EVENTS`,
which every copy of this module shares.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tenantctl.local.clients import local_client
from tests.unit.tenantctl import shared_record

CALLS: list[dict[str, Any]] = []
GATE_WAIT_S = 10.0


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
        if event.get("await_gate"):
            shared_record.ENTERED.set()
            shared_record.EVENTS.append({**event, "gate_opened": shared_record.GATE.wait(GATE_WAIT_S)})
        if "chain" in event:
            shared_record.EVENTS.append({**event, "marker": os.environ.get("RECORDING_MARKER")})
        if event.get("chain"):
            local_client("lambda", os.environ["AWS_REGION"], None).invoke(
                FunctionName=context.invoked_function_arn,
                InvocationType="Event",
                Payload=json.dumps({"chain": int(event["chain"]) - 1}),
            )
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
