"""`tenantctl redrive QUEUE`: move a queue's dead letters back to it, attributes (trace context) kept."""

from __future__ import annotations

import argparse
import time
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.topology import QueueSettings
from tenantctl.errors import UnknownQueueError
from tenantctl.output import print_json
from tenantctl.target import Target

SQS_BATCH = 10
PEEKED_WAIT_S = topology.IMPORT_RECONCILE.timeout_s
"""The dead-letter reconciler holds the batches DLQ's messages out of sight while it reads them (at
most this long); redrive waits for them rather than stop at a DLQ that only looks empty."""


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    names = ", ".join(_short_name(settings) for settings in topology.ALL_QUEUES)
    parser = subparsers.add_parser(
        "redrive",
        parents=parents,
        help="move a queue's dead letters back to the queue",
        description=f"Move every message of QUEUE's dead-letter queue back to QUEUE. Queues: {names}.",
    )
    parser.add_argument("queue", metavar="QUEUE", help=f"one of: {names} (the -queue / -dlq names work too)")
    parser.set_defaults(handler=_redrive)


def _short_name(settings: QueueSettings) -> str:
    return settings.queue.value.removesuffix("-queue")


def queue_settings(name: str) -> QueueSettings:
    for settings in topology.ALL_QUEUES:
        if name in (_short_name(settings), settings.queue.value, settings.dlq.value):
            return settings
    known = ", ".join(_short_name(settings) for settings in topology.ALL_QUEUES)
    raise UnknownQueueError(f"unknown queue {name!r} (known: {known})")


def redrive(target: Target, settings: QueueSettings, region: str | None = None) -> int:
    """Move messages until the DLQ reads empty; return how many moved."""
    sqs = target.clients(region).sqs
    source = _queue_url(sqs, target.name(settings.queue, region))
    dlq = _queue_url(sqs, target.name(settings.dlq, region))
    moved = 0
    give_up = time.monotonic() + PEEKED_WAIT_S
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=SQS_BATCH, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            if _held_out_of_sight(sqs, dlq) and time.monotonic() < give_up:
                continue
            return moved
        entries: list[Any] = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source, Entries=entries)
        done = {item["Id"] for item in sent.get("Successful", [])}
        if not done:
            return moved
        sqs.delete_message_batch(
            QueueUrl=dlq,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages)
                if str(index) in done
            ],
        )
        moved += len(done)


def _held_out_of_sight(sqs: Any, queue_url: str) -> bool:
    """Whether a reader (the reconciler) holds messages of the queue invisible right now."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)) > 0


def _queue_url(sqs: Any, name_or_url: str) -> str:
    """SSM publishes queue URLs; accept a bare name too."""
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    return str(sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"])


def _redrive(args: argparse.Namespace) -> int:
    settings = queue_settings(args.queue)
    moved = redrive(args.target, settings)
    if args.json:
        print_json({"queue": settings.queue.value, "dead_letter_queue": settings.dlq.value, "moved": moved})
    else:
        print(f"moved {moved} message(s) from {settings.dlq.value} back to {settings.queue.value}")
    return 0
