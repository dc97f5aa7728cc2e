"""Adapter over one region's tenant-data table, reading and writing a tenant's items as stored.

The migration copies items in their typed form (never through the record model), so what lands in
the target is byte-for-byte what the source held. A tenant's items live in one partition per
entity and shard (`store.keys.data_pk`), as many shards as the tenant's recorded count, which every
call takes; they are read with strongly consistent queries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import WriteIncompleteError
from tenant_pipeline.migration.errors import MigrationStoreError, TransientMigrationError
from tenant_pipeline.migration.item_codec import Item
from tenant_pipeline.store.batch_writes import MAX_BATCH_WRITE, BatchWriter
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code
from tenant_pipeline.store.keys import check_shard_count, data_pk
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WRITE_PATIENCE_S = 10.0
"""How long one call's 25 items may stay throttled before the phase fails as transient (Step Functions
retries it): long enough for DynamoDB to add capacity to a partition, short of the phase's timeout."""


def _domain_error(exc: ClientError, action: str) -> Exception:
    code = error_code(exc)
    if code in THROTTLE_CODES or code in {"InternalServerError", "ServiceUnavailable"}:
        return TransientMigrationError(f"{action}: {code}")
    return MigrationStoreError(f"{action}: {code or 'error'}: {exc}")


@dataclass(frozen=True)
class ItemPage:
    """One page of a Query: its items, and the key the next page starts after (None at the end)."""

    items: list[Item]
    last_key: Mapping[str, Any] | None


class TenantItems:
    """A tenant's items in one tenant-data table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        entities: Sequence[str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table_name
        self._client = client
        self._entities = tuple(entities)
        self._writer = BatchWriter(client, table_name, sleep=sleep, clock=clock)
        self.throttled_retries = 0
        """BatchWriteItem rounds so far that retried unprocessed items (DynamoDB throttled them)."""
        self.throttled_s = 0.0
        """Time from each write's first partial reply to its last round: what the throttling cost."""

    @property
    def table_name(self) -> str:
        return self._table

    def partitions(self, tenant_id: str, shard_count: int) -> list[str]:
        return [
            data_pk(tenant_id, entity, shard)
            for entity in self._entities
            for shard in range(check_shard_count(shard_count))
        ]

    def items(self, tenant_id: str, shard_count: int, *, keys_only: bool = False) -> Iterator[Item]:
        """Every item of the tenant, partition by partition, page by page."""
        for pk in self.partitions(tenant_id, shard_count):
            yield from self._query(pk, keys_only=keys_only, limit=None)

    def holds_any(self, tenant_id: str, shard_count: int) -> bool:
        partitions = self.partitions(tenant_id, shard_count)
        return any(next(self._query(pk, keys_only=True, limit=1), None) for pk in partitions)

    def put_all(self, items: Iterable[Item]) -> int:
        """Idempotent puts (an existing item is overwritten), 25 per call; returns how many."""
        written = 0
        batch: list[dict[str, Any]] = []
        for item in items:
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == MAX_BATCH_WRITE:
                written += self._write(batch)
                batch = []
        if batch:
            written += self._write(batch)
        return written

    def delete_tenant(self, tenant_id: str, shard_count: int) -> int:
        """Delete every item of the tenant; returns how many were deleted."""
        deleted = 0
        batch: list[dict[str, Any]] = []
        for key in self.items(tenant_id, shard_count, keys_only=True):
            batch.append({"DeleteRequest": {"Key": {"pk": key["pk"], "sk": key["sk"]}}})
            if len(batch) == MAX_BATCH_WRITE:
                deleted += self._write(batch)
                batch = []
        if batch:
            deleted += self._write(batch)
        return deleted

    def pages(
        self,
        partition: str,
        start_key: Mapping[str, Any] | None = None,
        *,
        keys_only: bool = False,
        limit: int | None = None,
    ) -> Iterator[ItemPage]:
        """The partition's items page by page, from just after `start_key` (a page's `last_key`, or the
        key of any item read before: a Query resumes after the item a key names)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ConsistentRead": True,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = dict(start_key)
        if keys_only:
            kwargs["ProjectionExpression"] = "pk, sk"
        if limit is not None:
            kwargs["Limit"] = limit
        try:
            for page in pages(self._client.query, **kwargs):
                yield ItemPage(items=page.get("Items", []), last_key=page.get("LastEvaluatedKey"))
        except ClientError as exc:
            raise _domain_error(exc, f"query {self._table}") from exc

    def _query(self, pk: str, *, keys_only: bool, limit: int | None) -> Iterator[Item]:
        for page in self.pages(pk, keys_only=keys_only, limit=limit):
            yield from page.items
            if limit is not None:  # one page of at most `limit` items
                return

    def _write(self, requests: list[dict[str, Any]]) -> int:
        try:
            stats = self._writer.write(requests, deadline=self._writer.clock() + WRITE_PATIENCE_S)
        except WriteIncompleteError as exc:
            raise TransientMigrationError(f"batch write to {self._table}: {exc}") from exc
        except ClientError as exc:
            raise _domain_error(exc, f"batch write to {self._table}") from exc
        self.throttled_retries += stats.retries
        self.throttled_s += stats.throttled_s
        return len(requests)
