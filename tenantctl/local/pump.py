"""Plays the Lambda SQS event source mappings of `topology.EVENT_SOURCES` against the local AWS.

Like the Lambda poller: several pollers per mapping, each polling continuously and invoking the
function with its own batch, so invocations of one function run concurrently as on Lambda (which
starts with five concurrent batches). A poller receives up to the batch size, waiting out the
batching window only while its batch is not full, and goes straight back to the queue after each
invocation. It hands the function the SQS event shape Lambda builds (attributes and message
attributes included), deletes what succeeded, leaves the failed items (`batchItemFailures`, or the
whole batch when the handler raises) to become visible again, and lets the queue's redrive policy
move a message to its DLQ after `maxReceiveCount` receives. Which messages a receive returns is the
queue's business: the local SQS delivers fair queues fairly across tenants (`fair_queues`), as AWS does.

One local setting differs from AWS on purpose: `retry_visibility_timeout_s`. Messages are received
with the visibility timeout that topology declares (six times the function timeout, minutes long),
so a message is never handed to a second poller while an invocation still holds it; but a message
that failed is made visible again after only this short timeout (ChangeMessageVisibility), so it
is retried, and reaches its DLQ, within seconds on a laptop.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.topology import EventSourceSettings
from tenantctl.local.defaults import DEFAULT_RETRY_AFTER_S
from tenantctl.local.runtime import Deployment, LocalRuntime

LOGGER = logging.getLogger(__name__)
SQS_MAX_RECEIVE = 10
LAMBDA_INITIAL_CONCURRENCY = 5
"""Concurrent batches Lambda's SQS event source mapping starts with."""
_WINDOW_STEP_S = 0.05


@dataclass(frozen=True)
class PumpSettings:
    """Local-only knobs of the event source mappings (see the module docstring)."""

    retry_visibility_timeout_s: int = DEFAULT_RETRY_AFTER_S
    poll_wait_s: int = 1
    concurrency: int = LAMBDA_INITIAL_CONCURRENCY
    """Pollers per mapping, hence concurrent invocations of its function."""


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record Lambda builds from a ReceiveMessage message (camel-cased, strings everywhere)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def failed_message_ids(result: Any, records: Sequence[Mapping[str, Any]]) -> set[str]:
    """Which messages Lambda would leave on the queue, from a partial batch response.

    As in AWS, a response naming an unknown or empty item identifier fails the whole batch.
    """
    all_ids = {str(record["messageId"]) for record in records}
    if not isinstance(result, Mapping) or not result.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in result["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in all_ids:
            return all_ids
        failed.add(str(identifier))
    return failed


class EventSourcePump:
    """One event source mapping: poller threads that poll one queue and invoke one function."""

    def __init__(
        self,
        *,
        source: EventSourceSettings,
        deployment: Deployment,
        runtime: LocalRuntime,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        settings: PumpSettings = PumpSettings(),
    ) -> None:
        self._source = source
        self._deployment = deployment
        self._runtime = runtime
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._settings = settings
        self._stop = threading.Event()
        name = f"pump-{deployment.region}-{source.function.name}"
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True)
            for index in range(max(1, settings.concurrency))
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Finish the invocations in flight, then stop polling."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.receive_batch()
                if messages:
                    self.deliver(messages)
            except Exception:  # the poller outlives any one failure, as Lambda's does
                if self._stop.is_set():
                    return
                LOGGER.exception("event source %s failed; polling again", threading.current_thread().name)
                self._stop.wait(self._settings.poll_wait_s)

    def receive_batch(self) -> list[dict[str, Any]]:
        """Up to the batch size, waiting at most the batching window once the first message arrives,
        and only while the batch is not full."""
        messages = self._receive(min(SQS_MAX_RECEIVE, self._source.batch_size), self._settings.poll_wait_s)
        deadline = time.monotonic() + self._source.max_batching_window_s
        while messages and len(messages) < self._source.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wanted = min(SQS_MAX_RECEIVE, self._source.batch_size - len(messages))
            # Long polling returns as soon as a message arrives; its wait is whole seconds, so the
            # window's last fraction of a second is polled in short steps instead.
            more = self._receive(wanted, int(remaining))
            if not more and remaining < 1:
                self._stop.wait(min(_WINDOW_STEP_S, remaining))
            messages.extend(more)
        return messages

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def deliver(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Invoke the function with one SQS event; delete what it did not report as failed."""
        region = self._deployment.region
        records = [lambda_sqs_record(message, self._queue_arn, region) for message in messages]
        try:
            result = self._runtime.invoke(self._deployment, {"Records": records})
        except Exception:
            LOGGER.exception("%s raised; the batch returns to the queue", self._deployment.physical_name)
            self._retry_soon(records)
            return
        failed = failed_message_ids(result, records) if self._source.report_batch_item_failures else set()
        self._retry_soon([record for record in records if record["messageId"] in failed])
        done = [record for record in records if record["messageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[start : start + SQS_MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(chunk)
                ],
            )

    def _retry_soon(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Make failed messages visible again after `retry_visibility_timeout_s`."""
        for start in range(0, len(records), SQS_MAX_RECEIVE):
            chunk = records[start : start + SQS_MAX_RECEIVE]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {
                        "Id": str(index),
                        "ReceiptHandle": record["receiptHandle"],
                        "VisibilityTimeout": self._settings.retry_visibility_timeout_s,
                    }
                    for index, record in enumerate(chunk)
                ],
            )
