"""The tenant store: every tenant's records, sharded so one import is not held to one partition.

Each tenant has its own shard count (its directory entry records it), so every key and every read
takes the tenant's count: the shard of an id depends on it.

Writes take DynamoDB typed attribute maps built by the caller (the loader builds them straight from
validated rows) and go through `store.batch_writes` (25 per call, throttling retried until the
caller's deadline; the client `AwsClients` builds skips botocore's parameter validation: the maps
are ours, built from validated rows). Puts are idempotent: re-delivery overwrites the same items
with the same values.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from tenant_pipeline.store.batch_writes import BatchWriter, WriteStats
from tenant_pipeline.store.client_errors import as_store_error
from tenant_pipeline.store.keys import check_shard_count, check_tenant_id, data_pk, record_pk
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]
"""A DynamoDB item as typed attribute maps (`{"name": {"S": "Ada"}}`)."""

QUERY_PAGE_ITEMS = 1000
"""Most items one page of a tenant-data query holds."""


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
        self._writer = BatchWriter(client, table_name, sleep=sleep, clock=clock, jitter=jitter)

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
        try:
            return self._writer.write([{"PutRequest": {"Item": item}} for item in items], deadline=deadline)
        except ClientError as exc:
            raise as_store_error(exc, "write items") from exc

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
