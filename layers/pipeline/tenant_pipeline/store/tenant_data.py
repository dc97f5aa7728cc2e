"""The tenant store: every tenant's records, sharded so one import is not held to one partition.

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

from tenant_pipeline import topology
from tenant_pipeline.store.batch_writes import BatchWriter, WriteStats
from tenant_pipeline.store.client_errors import as_store_error
from tenant_pipeline.store.keys import check_tenant_id, data_pk, record_pk
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
        shard_count: int = topology.DEFAULT_SHARD_COUNT,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.table_name = table_name
        self.shard_count = shard_count
        self._client = client
        self._writer = BatchWriter(client, table_name, sleep=sleep, clock=clock, jitter=jitter)

    def record_key(self, tenant_id: str, entity: str, record_id: str) -> Item:
        return {
            "pk": {"S": record_pk(tenant_id, entity, record_id, self.shard_count)},
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
        self, tenant_id: str, entity: str, action: str, **request: Any
    ) -> Iterator[Mapping[str, Any]]:
        """Every page of a query over one tenant's entity, shard by shard."""
        check_tenant_id(tenant_id)  # a forged id (`a#contacts`, `../a`) is refused, not looked up
        for shard in range(self.shard_count):
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

    def query_items(self, tenant_id: str, entity: str) -> Iterator[Item]:
        """Every stored item of one tenant's entity as typed maps, shard by shard, paginated.

        Pages are capped at `QUERY_PAGE_ITEMS` as well as DynamoDB's 1 MB, so a reader's memory stays
        bounded on emulators that ignore the byte cap (the local AWS), at a negligible request cost."""
        for page in self._entity_pages(tenant_id, entity, "query tenant data", Limit=QUERY_PAGE_ITEMS):
            yield from page.get("Items", [])

    def query_entity(self, tenant_id: str, entity: str) -> Iterator[dict[str, Any]]:
        """Every stored record of one tenant's entity as plain values (numbers as `Decimal`),
        without the table's own `pk`/`sk`."""
        deserializer = TypeDeserializer()
        for item in self.query_items(tenant_id, entity):
            yield {
                name: deserializer.deserialize(value)
                for name, value in item.items()
                if name not in ("pk", "sk")
            }

    def count_entity(self, tenant_id: str, entity: str) -> int:
        counted = self._entity_pages(tenant_id, entity, "count tenant data", Select="COUNT")
        return sum(page.get("Count", 0) for page in counted)
