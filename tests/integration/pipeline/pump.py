"""A small event source mapping for tests: receive, build the Lambda SQS event, invoke, delete successes.

Failed messages are made visible again at once (standing in for their visibility timeout), so a test
can replay redeliveries; SQS itself moves a message to the DLQ after `maxReceiveCount` receives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .conftest import REGION, FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """The record a Lambda SQS event carries for one received message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@dataclass
class Pump:
    """Plays one queue's event source mapping for one handler."""

    sqs: Any
    queue_url: str
    handler: Handler
    batch_size: int
    invocations: int = 0
    failures: int = 0
    crashed: int = 0
    _arn: str = field(default="", init=False)

    def __post_init__(self) -> None:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self._arn = attributes["Attributes"]["QueueArn"]

    def run_once(self) -> int:
        """One receive and invocation; returns how many messages were received."""
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return 0
        records = [lambda_sqs_record(message, self._arn) for message in messages]
        self.invocations += 1
        try:
            response = self.handler({"Records": records}, FakeLambdaContext())
        except Exception:
            self.crashed += 1
            failed = {record["messageId"] for record in records}
        else:
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] in failed:
                self.failures += 1
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def drain(self, max_invocations: int = 200) -> int:
        """Run until the queue gives nothing; returns the messages received."""
        received = 0
        for _ in range(max_invocations):
            got = self.run_once()
            if not got:
                return received
            received += got
        raise AssertionError(f"queue still busy after {max_invocations} invocations")
