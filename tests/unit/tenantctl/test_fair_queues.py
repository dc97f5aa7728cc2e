"""The local AWS delivers standard queues with message groups as AWS documents SQS fair queues.

The documented rule ("How Amazon SQS fair queues work"): while a tenant (message group) holds many
messages in flight, the messages of quieter tenants are returned first; among noisy tenants, the one
with the fewest messages in flight first; a message without a group is a tenant of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantctl.local.fair_queues import fair_queues

NOISY_IN_FLIGHT = 30
"""AWS flags a tenant by concurrency once it holds at least 30 messages in flight (and over 10%)."""


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def _send(sqs: Any, url: str, body: str, group: str | None) -> None:
    extra = {"MessageGroupId": group} if group else {}
    sqs.send_message(QueueUrl=url, MessageBody=body, **extra)


def _receive(sqs: Any, url: str, count: int) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, VisibilityTimeout=300)
    return [message["Body"] for message in messages.get("Messages", [])]


def _hold(sqs: Any, url: str, group: str, count: int) -> None:
    """`count` messages of `group` sent and received, not deleted: in flight (the queue holds no other
    visible message while they are received)."""
    for n in range(count):
        _send(sqs, url, f"{group}-{n}", group)
    held = 0
    while held < count:
        held += len(_receive(sqs, url, min(10, count - held)))


def _backlog(sqs: Any, url: str, group: str, first: int, count: int) -> None:
    for n in range(first, first + count):
        _send(sqs, url, f"{group}-{n}", group)


def test_a_quiet_tenant_is_served_before_a_noisy_tenants_backlog(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fair")["QueueUrl"]
    _hold(sqs, url, "noisy", NOISY_IN_FLIGHT)
    _backlog(sqs, url, "noisy", NOISY_IN_FLIGHT, 70)
    _send(sqs, url, "quiet-0", "quiet")
    _send(sqs, url, "ungrouped-0", None)
    with fair_queues():
        first = _receive(sqs, url, 2)
    assert sorted(first) == ["quiet-0", "ungrouped-0"]


def test_without_fair_delivery_the_quiet_tenant_waits_behind_the_backlog(sqs: Any) -> None:
    # The same queue on moto alone: arrival order, which is what fair queues prevent
    url = sqs.create_queue(QueueName="arrival")["QueueUrl"]
    _hold(sqs, url, "noisy", NOISY_IN_FLIGHT)
    _backlog(sqs, url, "noisy", NOISY_IN_FLIGHT, 70)
    _send(sqs, url, "quiet-0", "quiet")
    assert _receive(sqs, url, 1) == [f"noisy-{NOISY_IN_FLIGHT}"]


def test_among_noisy_tenants_the_one_with_fewer_in_flight_goes_first(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="noisy")["QueueUrl"]
    _hold(sqs, url, "busiest", 50)
    _hold(sqs, url, "busy", 30)
    _backlog(sqs, url, "busiest", 50, 10)
    _backlog(sqs, url, "busy", 30, 10)
    with fair_queues():
        assert _receive(sqs, url, 1) == ["busy-30"]


def test_within_a_group_messages_keep_their_order_and_none_is_lost(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="order")["QueueUrl"]
    for n in range(12):
        _send(sqs, url, f"a-{n}", "a")
    with fair_queues():
        received = _receive(sqs, url, 10) + _receive(sqs, url, 10)
    assert received == [f"a-{n}" for n in range(12)]
