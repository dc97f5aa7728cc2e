"""Counts every AWS API call a process makes, by service and operation, with what it bills for.

Patching `BaseClient._make_api_call` sees the calls of every client, whichever session made it, so
the counts cover our handlers without touching them. Clients registered as
`event_source` (the local event source mapping's poller) are counted apart: on AWS, Lambda's pollers
make those calls. Clients registered as observers (the benchmark watching the jobs ledger) are not
counted: they are not part of the import.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

SQS_CHUNK_BYTES = 64 * 1024


@dataclass
class RequestTally:
    """API calls and the billing units they imply (approximate where noted in `cost.py`)."""

    calls: Counter[str] = field(default_factory=Counter)
    sqs_billed_requests: int = 0
    dynamodb_write_units: int = 0
    dynamodb_read_calls: int = 0
    s3_put_class: int = 0
    s3_get_class: int = 0
    event_source_clients: set[int] = field(default_factory=set)
    observer_clients: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "sqs_billed_requests": self.sqs_billed_requests,
            "dynamodb_write_units": self.dynamodb_write_units,
            "dynamodb_read_calls": self.dynamodb_read_calls,
            "s3_put_class": self.s3_put_class,
            "s3_get_class": self.s3_get_class,
        }

    def record(self, service: str, operation: str, params: dict[str, Any], reply: Any, source: str) -> None:
        self.calls[f"{source}:{service}:{operation}"] += 1
        if service == "sqs":
            self.sqs_billed_requests += _sqs_chunks(operation, params, reply)
        elif service == "dynamodb":
            self._dynamodb(operation, params)
        elif service == "s3":
            if operation in ("GetObject", "HeadObject"):
                self.s3_get_class += 1
            else:
                self.s3_put_class += 1

    def _dynamodb(self, operation: str, params: dict[str, Any]) -> None:
        # Items here are well under 1 KB, so one write unit per item written; transactions cost double.
        if operation == "BatchWriteItem":
            self.dynamodb_write_units += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self.dynamodb_write_units += 1
        elif operation == "TransactWriteItems":
            self.dynamodb_write_units += 2 * len(params.get("TransactItems", []))
        else:
            self.dynamodb_read_calls += 1


def _sqs_chunks(operation: str, params: dict[str, Any], reply: Any) -> int:
    """SQS bills each 64 KB chunk of a request's payload as one request."""
    if operation == "SendMessageBatch":
        size = sum(
            len(e.get("MessageBody", "")) + len(json.dumps(e.get("MessageAttributes", {})))
            for e in params.get("Entries", [])
        )
    elif operation == "SendMessage":
        size = len(params.get("MessageBody", "")) + len(json.dumps(params.get("MessageAttributes", {})))
    elif operation == "ReceiveMessage" and isinstance(reply, dict):
        messages = reply.get("Messages", [])
        if not messages:
            return 0  # idle polls depend on idle time, not on the records imported
        size = sum(len(m.get("Body", "")) for m in messages)
    else:
        size = 0
    return max(1, math.ceil(size / SQS_CHUNK_BYTES))


@contextmanager
def count_requests() -> Iterator[RequestTally]:
    """Count every API call made in this process while the block runs."""
    tally = RequestTally()
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, absent from the stubs

    def _counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if id(self) in tally.observer_clients:
            return original(self, operation_name, api_params)
        reply: Any = None
        try:
            reply = original(self, operation_name, api_params)
            return reply
        finally:  # a failed conditional write is billed too
            source = "event_source" if id(self) in tally.event_source_clients else "function"
            tally.record(self.meta.service_model.service_name, operation_name, api_params, reply, source)

    setattr(BaseClient, "_make_api_call", _counting)  # noqa: B010
    try:
        yield tally
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010
