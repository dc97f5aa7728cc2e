"""BatchWriteItem, the one way every adapter writes in bulk.

At most 25 requests per call, as AWS requires (the local AWS accepts more: the limit is ours to keep).
`UnprocessedItems` and throttling errors are what DynamoDB answers when a partition is over its
throughput; both are retried with capped exponential backoff and full jitter (AWS's advice for
throttled requests: spread the retries of many writers instead of synchronising them) until the
caller's deadline. Other errors reach the caller as the `ClientError` they are, for its adapter to map.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import WriteIncompleteError
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_BATCH_WRITE = 25
"""Requests per BatchWriteItem call ("BatchWriteItem", DynamoDB API Reference)."""
BASE_DELAY_S = 0.05
MAX_DELAY_S = 2.0


@dataclass
class WriteStats:
    """What a bulk write cost: calls made, of which retries of unprocessed or throttled items."""

    items: int = 0
    calls: int = 0
    retries: int = 0
    throttled_s: float = 0.0
    """Time from the first throttled or partial reply to the chunk's last write: the cost of the retries."""


class BatchWriter:
    """Writes put and delete requests to one table, 25 per call, retrying what DynamoDB throttles."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep
        self.clock = clock
        self._jitter = jitter

    def write(self, requests: Sequence[dict[str, Any]], *, deadline: float | None = None) -> WriteStats:
        """Write every request; `deadline` is on this writer's clock (`time.monotonic` by default).

        Raises `WriteIncompleteError` if requests are still unprocessed when the next backoff would
        pass the deadline, and `ClientError` for an error that is not throttling."""
        stats = WriteStats(items=len(requests))
        for start in range(0, len(requests), MAX_BATCH_WRITE):
            self._write_chunk(list(requests[start : start + MAX_BATCH_WRITE]), deadline, stats)
        return stats

    def _write_chunk(self, requests: list[dict[str, Any]], deadline: float | None, stats: WriteStats) -> None:
        attempt = 0
        retrying_since: float | None = None
        while requests:
            stats.calls += 1
            try:
                reply = self._client.batch_write_item(RequestItems={self._table: requests})  # type: ignore[dict-item]
                requests = reply.get("UnprocessedItems", {}).get(self._table, [])  # type: ignore[assignment]
            except ClientError as exc:
                if error_code(exc) not in THROTTLE_CODES:
                    raise
            if not requests:
                if retrying_since is not None:
                    stats.throttled_s += self.clock() - retrying_since
                return
            if retrying_since is None:
                retrying_since = self.clock()
            delay = min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt) * self._jitter()
            if deadline is not None and self.clock() + delay >= deadline:
                raise WriteIncompleteError(
                    f"{len(requests)} items still unprocessed after {attempt + 1} attempts when time ran out"
                )
            attempt += 1
            stats.retries += 1
            self._sleep(delay)
