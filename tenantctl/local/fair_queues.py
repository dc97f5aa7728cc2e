"""SQS fair queues on the local AWS: a receive prefers the message groups with the fewest messages in flight.

On AWS a standard queue whose messages carry a `MessageGroupId` is a fair queue (SQS Developer Guide,
"Amazon SQS fair queues" and "How Amazon SQS fair queues work"): once a tenant (a group) holds a
disproportionate share of the messages in flight, SQS returns the other tenants' messages first, and
among several such noisy tenants, first the one with the fewest messages in flight; a message without a
group counts as a tenant of its own. moto delivers a standard queue in arrival order, so the local AWS
orders each receive's visible messages by their group's messages in flight, fewest first, keeping
arrival order within a group and between equals. A quiet tenant (nothing in flight) thus comes before
a busy tenant's backlog. AWS also weighs processing time and acts only past thresholds; this emulation
acts at once, so it is never less fair than AWS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from moto.sqs.models import Message, Queue


def in_flight_by_group(in_flight: Sequence[Message]) -> Counter[str]:
    """Messages received and neither deleted nor visible again, per message group."""
    return Counter(message.group_id for message in in_flight if message.group_id and not message.visible)


def fair_order(visible: Sequence[Message], in_flight: Counter[str]) -> list[Message]:
    """`visible` (in arrival order), the groups with the fewest messages in flight first."""
    return sorted(visible, key=lambda message: in_flight[message.group_id] if message.group_id else 0)


@contextmanager
def fair_queues() -> Iterator[None]:
    """While inside, the embedded moto's queues deliver fairly across message groups."""
    arrival_order: property = vars(Queue)["messages"]

    def messages(queue: Queue) -> list[Message]:
        visible: list[Message] = arrival_order.__get__(queue)
        # A FIFO queue skips the groups with messages in flight anyway: the others keep arrival order.
        # list() copies the set in one step, while other requests' threads may change it
        return fair_order(visible, in_flight_by_group(list(queue.pending_messages)))

    setattr(Queue, "messages", property(messages))  # noqa: B010 - a property replaced for the duration
    try:
        yield
    finally:
        setattr(Queue, "messages", arrival_order)  # noqa: B010
