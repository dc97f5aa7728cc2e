"""The import-batches queue: `SendMessageBatch` with the failed entries retried."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import FanoutError
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_ENTRIES = 10
MAX_PAYLOAD_BYTES = 256 * 1024
"""Largest message, and largest sum of one `SendMessageBatch` call's messages."""


class BatchQueue:
    """Adapter over one SQS queue for sending batches of messages."""

    def __init__(
        self,
        client: SQSClient,
        queue: str,
        *,
        attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._queue = queue
        self._url: str | None = queue if queue.startswith(("http://", "https://")) else None
        self._attempts = attempts
        self._sleep = sleep

    @property
    def url(self) -> str:
        """The queue URL (a name is resolved once)."""
        if self._url is None:
            try:
                self._url = self._client.get_queue_url(QueueName=self._queue)["QueueUrl"]
            except ClientError as exc:
                raise FanoutError(f"queue {self._queue!r}: {error_code(exc)}") from exc
        return self._url

    def send_batch(self, entries: Sequence[dict[str, Any]]) -> None:
        """Send up to ten entries; entries that fail for a retryable reason are re-sent."""
        pending = list(entries)
        for attempt in range(self._attempts):
            try:
                reply = self._client.send_message_batch(QueueUrl=self.url, Entries=pending)  # type: ignore[arg-type]
            except ClientError as exc:
                if error_code(exc) not in THROTTLE_CODES and not error_code(exc).startswith("InternalError"):
                    raise FanoutError(f"send batch messages: {error_code(exc)}") from exc
                failed_ids = {entry["Id"] for entry in pending}
            else:
                failures = reply.get("Failed", [])
                fatal = [failure for failure in failures if failure.get("SenderFault")]
                if fatal:
                    raise FanoutError(
                        f"batch messages refused: {fatal[0].get('Code')}: {fatal[0].get('Message')}"
                    )
                failed_ids = {failure["Id"] for failure in failures}
            pending = [entry for entry in pending if entry["Id"] in failed_ids]
            if not pending:
                return
            self._sleep(min(2.0, 0.05 * 2**attempt) * random.random())
        raise FanoutError(f"{len(pending)} batch messages still failing after {self._attempts} attempts")
