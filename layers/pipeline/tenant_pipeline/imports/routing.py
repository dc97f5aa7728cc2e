"""Routing: each upload's notification re-queued for validation under its tenant's message group.

S3 notifications carry no message group, so on the ingest queue a tenant's thousand uploads stand in
front of another tenant's one. The router splits each notification into one message per object, in
S3's record shape (the validator reads it unchanged), and sends it to the validation queue with the
tenant taken from the key, as the validator will read it, as `MessageGroupId`. SQS fair queues then
deliver the quiet tenant's upload before the rest of the noisy one's backlog. A key that names no
tenant travels without a group (SQS counts each such message as a tenant of its own); the validator
refuses it as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from tenant_pipeline.errors import FanoutError
from tenant_pipeline.imports.keys import attributable_tenant
from tenant_pipeline.store.batch_queue import MAX_ENTRIES, BatchQueue


@dataclass(frozen=True)
class ValidationRequest:
    """One object's notification, as the validation queue carries it."""

    body: str
    tenant_id: str | None


def validation_requests(notification: Mapping[str, Any]) -> list[ValidationRequest]:
    """One request per record of an S3 notification; none for S3's test event."""
    records = notification.get("Records")
    if not isinstance(records, list):
        return []
    return [
        ValidationRequest(body=json.dumps({"Records": [record]}), tenant_id=_tenant_of(record))
        for record in records
    ]


def _tenant_of(record: Any) -> str | None:
    try:
        key = record["s3"]["object"]["key"]
    except (KeyError, TypeError):
        return None
    return attributable_tenant(unquote_plus(key)) if isinstance(key, str) else None


def send_entry(request: ValidationRequest, entry_id: str) -> dict[str, Any]:
    """A `SendMessageBatch` entry for `request`, in its tenant's message group when it has one."""
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": request.body}
    if request.tenant_id is not None:
        entry["MessageGroupId"] = request.tenant_id
    return entry


class ValidationRouter:
    """Sends the requests of many notifications, ten per call, and says which notifications failed."""

    def __init__(self, queue: BatchQueue) -> None:
        self._queue = queue

    def route(
        self,
        requests: Sequence[tuple[str, ValidationRequest]],
        message_attributes: Mapping[str, Any] | None = None,
    ) -> set[str]:
        """Send each `(source_id, request)` with `message_attributes` (the trace context); returns the
        source ids of requests that could not be sent.

        A source whose requests went out in part is retried whole: the validator makes one job per
        object version, so a request sent twice validates once.
        """
        failed: set[str] = set()
        for start in range(0, len(requests), MAX_ENTRIES):
            chunk = requests[start : start + MAX_ENTRIES]
            entries = [send_entry(request, f"r{start + n}") for n, (_, request) in enumerate(chunk)]
            if message_attributes:
                for entry in entries:
                    entry["MessageAttributes"] = dict(message_attributes)
            try:
                self._queue.send_batch(entries)
            except FanoutError:
                failed |= {source for source, _ in chunk}
        return failed
