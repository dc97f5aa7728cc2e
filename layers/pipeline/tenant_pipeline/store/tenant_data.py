"""The tenant store: every tenant's records, sharded so one import is not held to one partition.

Each tenant has its own shard count (its directory entry records it), so every key and every read
takes the tenant's count: the shard of an id depends on it.

Writes take DynamoDB typed attribute maps built by the caller (the loader builds them straight from
validated rows), 25 per `BatchWriteItem` as AWS requires, sent through the client's `batch_write_item`
(the client `AwsClients` builds skips botocore's parameter validation: the maps are ours, built from
validated rows), and retry `UnprocessedItems` with exponential backoff and full jitter until the
caller's deadline. Puts are idempotent: re-delivery overwrites the same items
with the same values.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from tenant_pipeline.errors import WriteIncompleteError
from tenant_pipeline.store.client_errors import THROTTLE_CODES, as_store_error, error_code
from tenant_pipeline.store.keys import check_shard_count, check_tenant_id, data_pk, record_pk
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
"""A DynamoDB item as typed attribute maps (`{"name": {"S": "Ada"}}`)."""

MAX_BATCH_WRITE = 25
_BASE_DELAY_S = 0.05
_MAX_DELAY_S = 2.0

QUERY_PAGE_ITEMS = 1000
"""Most items one page of a tenant-data query holds."""


@dataclass
class WriteStats:
    """What a bulk write cost: calls made, of which retries of unprocessed or throttled items."""

    items: int = 0
    calls: int = 0
    retries: int = 0
    throttled_s: float = 0.0
    """Time from the first throttled or partial reply to the chunk's last write: the cost of the retries."""


class TenantDataStore:
    """Adapter over the tenant-data table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter

    @staticmethod
    def record_key(tenant_id: str, entity: str, record_id: str, shard_count: int) -> Item:
        return {
            "pk": {"S": record_pk(tenant_id, entity, record_id, shard_count)},
            "sk": {"S": record_id},
        }

    # -- writing -------------------------------------------------------------------------------
    def put_items(self, items: Sequence[Item], *, deadline: float | None = None) -> WriteStats:
        """Put every item; `deadline` is on this store's clock (`time.monotonic` by default).

        Raises `WriteIncompleteError` if items are still unprocessed when the next backoff would
        pass the deadline (the caller fails the batch and SQS redelivers it)."""
        stats = WriteStats(items=len(items))
        for start in range(0, len(items), MAX_BATCH_WRITE):  # AWS refuses a call with more
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + MAX_BATCH_WRITE]]
            self._write_chunk(requests, deadline, stats)
        return stats

    def _write_chunk(self, requests: list[dict[str, Any]], deadline: float | None, stats: WriteStats) -> None:
        attempt = 0
        retrying_since: float | None = None
        while requests:
            stats.calls += 1
            try:
                reply = self._client.batch_write_item(RequestItems={self.table_name: requests})  # type: ignore[dict-item]
                requests = reply.get("UnprocessedItems", {}).get(self.table_name, [])  # type: ignore[assignment]
            except ClientError as exc:
                if error_code(exc) not in THROTTLE_CODES:
                    raise as_store_error(exc, "write items") from exc
            if not requests:
                if retrying_since is not None:
                    stats.throttled_s += self._clock() - retrying_since
                return
            if retrying_since is None:
                retrying_since = self._clock()
            delay = min(_MAX_DELAY_S, _BASE_DELAY_S * 2**attempt) * self._jitter()
            if deadline is not None and self._clock() + delay >= deadline:
                raise WriteIncompleteError(
                    f"{len(requests)} items still unprocessed after {attempt + 1} attempts when time ran out"
                )
            attempt += 1
            stats.retries += 1
            self._sleep(delay)

    # -- reading -------------------------------------------------------------------------------
    def _entity_pages(
        self, tenant_id: str, entity: str, shard_count: int, action: str, **request: Any
    ) -> Iterator[Mapping[str, Any]]:
        """Every page of a query over one tenant's entity, shard by shard of the tenant's count."""
        check_tenant_id(tenant_id)  # a forged id (`a#contacts`, `../a`) is refused, not looked up
        for shard in range(check_shard_count(shard_count)):
            try:
                yield from pages(
                    self._client.query,
                    TableName=self.table_name,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": data_pk(tenant_id, entity, shard)}},
                    **request,
                )
            except ClientError as exc:
                raise as_store_error(exc, action) from exc

    def query_items(self, tenant_id: str, entity: str, shard_count: int) -> Iterator[Item]:
        """Every stored item of one tenant's entity as typed maps, shard by shard, paginated.

        Pages are capped at `QUERY_PAGE_ITEMS` as well as DynamoDB's 1 MB, so a reader's memory stays
        bounded on emulators that ignore the byte cap (the local AWS), at a negligible request cost."""
        pages_read = self._entity_pages(
            tenant_id, entity, shard_count, "query tenant data", Limit=QUERY_PAGE_ITEMS
        )
        for page in pages_read:
            yield from page.get("Items", [])

    def query_entity(self, tenant_id: str, entity: str, shard_count: int) -> Iterator[dict[str, Any]]:
        """Every stored record of one tenant's entity as plain values (numbers as `Decimal`),
        without the table's own `pk`/`sk`."""
        deserializer = TypeDeserializer()
        for item in self.query_items(tenant_id, entity, shard_count):
            yield {
                name: deserializer.deserialize(value)
                for name, value in item.items()
                if name not in ("pk", "sk")
            }

    def count_entity(self, tenant_id: str, entity: str, shard_count: int) -> int:
        counted = self._entity_pages(tenant_id, entity, shard_count, "count tenant data", Select="COUNT")
        return sum(page.get("Count", 0) for page in counted)
