"""Adapter over one region's tenant-data table, reading and writing a tenant's items as stored.

The migration copies items in their typed form (never through the record model), so what lands in
the target is byte-for-byte what the source held. A tenant's items live in one partition per
entity and shard (`store.keys.data_pk`); they are read with strongly consistent queries.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.migration.errors import MigrationStoreError, TransientMigrationError
from tenant_pipeline.migration.item_codec import Item
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code
from tenant_pipeline.store.keys import data_pk
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_LIMIT = 25
"""AWS rejects a BatchWriteItem of more than 25 requests (the local AWS accepts 26)."""
_MAX_UNPROCESSED_ROUNDS = 8


def _domain_error(exc: ClientError, action: str) -> Exception:
    code = error_code(exc)
    if code in THROTTLE_CODES or code in {"InternalServerError", "ServiceUnavailable"}:
        return TransientMigrationError(f"{action}: {code}")
    return MigrationStoreError(f"{action}: {code or 'error'}: {exc}")


class TenantItems:
    """A tenant's items in one tenant-data table."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        entities: Sequence[str],
        shard_count: int,
        sleep: Any = time.sleep,
    ) -> None:
        self._table = table_name
        self._client = client
        self._entities = tuple(entities)
        self._shard_count = shard_count
        self._sleep = sleep
        self.throttled_retries = 0
        """BatchWriteItem rounds so far that retried unprocessed items (DynamoDB throttled them)."""
        self.throttled_s = 0.0
        """Time from each write's first partial reply to its last round: what the throttling cost."""

    def partitions(self, tenant_id: str) -> list[str]:
        return [
            data_pk(tenant_id, entity, shard)
            for entity in self._entities
            for shard in range(self._shard_count)
        ]

    def items(self, tenant_id: str, *, keys_only: bool = False) -> Iterator[Item]:
        """Every item of the tenant, partition by partition, page by page."""
        for pk in self.partitions(tenant_id):
            yield from self._query(pk, keys_only=keys_only, limit=None)

    def holds_any(self, tenant_id: str) -> bool:
        return any(next(self._query(pk, keys_only=True, limit=1), None) for pk in self.partitions(tenant_id))

    def put_all(self, items: Iterable[Item]) -> int:
        """Idempotent puts (an existing item is overwritten), 25 per call; returns how many."""
        written = 0
        batch: list[dict[str, Any]] = []
        for item in items:
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == BATCH_WRITE_LIMIT:
                written += self._write(batch)
                batch = []
        if batch:
            written += self._write(batch)
        return written

    def delete_tenant(self, tenant_id: str) -> int:
        """Delete every item of the tenant; returns how many were deleted."""
        deleted = 0
        batch: list[dict[str, Any]] = []
        for key in self.items(tenant_id, keys_only=True):
            batch.append({"DeleteRequest": {"Key": {"pk": key["pk"], "sk": key["sk"]}}})
            if len(batch) == BATCH_WRITE_LIMIT:
                deleted += self._write(batch)
                batch = []
        if batch:
            deleted += self._write(batch)
        return deleted

    def _query(self, pk: str, *, keys_only: bool, limit: int | None) -> Iterator[Item]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        if keys_only:
            kwargs["ProjectionExpression"] = "pk, sk"
        if limit is not None:
            kwargs["Limit"] = limit
        try:
            for page in pages(self._client.query, **kwargs):
                yield from page.get("Items", [])
                if limit is not None:  # one page of at most `limit` items
                    return
        except ClientError as exc:
            raise _domain_error(exc, f"query {self._table}") from exc

    def _write(self, requests: list[dict[str, Any]]) -> int:
        pending: Any = requests
        retrying_since: float | None = None
        for attempt in range(_MAX_UNPROCESSED_ROUNDS):
            try:
                reply = self._client.batch_write_item(RequestItems={self._table: pending})
            except ClientError as exc:
                raise _domain_error(exc, f"batch write to {self._table}") from exc
            pending = reply.get("UnprocessedItems", {}).get(self._table, [])
            if not pending:
                if retrying_since is not None:
                    self.throttled_s += time.perf_counter() - retrying_since
                return len(requests)
            if retrying_since is None:
                retrying_since = time.perf_counter()
            self.throttled_retries += 1
            self._sleep(min(2.0, 0.05 * 2**attempt))
        raise TransientMigrationError(
            f"batch write to {self._table}: {len(pending)} item(s) still unprocessed after "
            f"{_MAX_UNPROCESSED_ROUNDS} rounds"
        )
