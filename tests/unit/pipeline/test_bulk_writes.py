"""BatchWriteItem: 25 per call, unprocessed items retried with backoff until the deadline, one loop for
the loader's tenant store and the migration's tenant items alike."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenant_pipeline.errors import StoreError, WriteIncompleteError
from tenant_pipeline.migration.errors import MigrationStoreError, TransientMigrationError
from tenant_pipeline.migration.tenant_items import WRITE_PATIENCE_S, TenantItems
from tenant_pipeline.store.tenant_data import TenantDataStore


class _Dynamo:
    """Returns the first `unprocessed` items of each call as unprocessed, `stubborn_calls` times."""

    def __init__(self, unprocessed: int = 0, stubborn_calls: int = 0, error: str | None = None) -> None:
        self.calls: list[int] = []
        self.written: list[str] = []
        self._unprocessed = unprocessed
        self._stubborn = stubborn_calls
        self._error = error

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.calls.append(len(requests))
        if self._error and len(self.calls) == 1:
            raise ClientError({"Error": {"Code": self._error, "Message": "x"}}, "BatchWriteItem")
        keep = self._unprocessed if self._stubborn > 0 else 0
        self._stubborn -= 1
        self.written += [r["PutRequest"]["Item"]["sk"]["S"] for r in requests[keep:]]
        return {"UnprocessedItems": {table: requests[:keep]} if keep else {}}


def _items(count: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": "acme#contacts#0"}, "sk": {"S": f"c-{n}"}} for n in range(count)]


def _store(client: _Dynamo, sleeps: list[float], clock: list[float]) -> TenantDataStore:
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    return TenantDataStore("data", client, sleep=sleep, clock=lambda: clock[0], jitter=lambda: 1.0)  # type: ignore[arg-type]


def test_items_go_in_calls_of_at_most_25() -> None:
    client = _Dynamo()
    stats = _store(client, [], [0.0]).put_items(_items(60))
    assert client.calls == [25, 25, 10]
    assert sorted(client.written) == sorted(f"c-{n}" for n in range(60))
    assert (stats.items, stats.calls, stats.retries) == (60, 3, 0)


def test_unprocessed_items_are_retried_with_growing_backoff() -> None:
    client, sleeps = _Dynamo(unprocessed=5, stubborn_calls=3), list[float]()
    stats = _store(client, sleeps, [0.0]).put_items(_items(25), deadline=100.0)
    assert client.calls == [25, 5, 5, 5]
    assert len(client.written) == 25
    assert sleeps == [0.05, 0.1, 0.2]
    assert stats.retries == 3


def test_a_throttled_call_is_retried_like_unprocessed_items() -> None:
    client = _Dynamo(error="ProvisionedThroughputExceededException")
    _store(client, [], [0.0]).put_items(_items(3), deadline=100.0)
    assert client.calls == [3, 3]
    assert len(client.written) == 3


def test_when_the_deadline_comes_first_the_write_fails_without_sleeping_past_it() -> None:
    client, sleeps, clock = _Dynamo(unprocessed=5, stubborn_calls=100), list[float](), [0.0]
    with pytest.raises(WriteIncompleteError, match="5 items still unprocessed"):
        _store(client, sleeps, clock).put_items(_items(25), deadline=1.0)
    assert clock[0] < 1.0


def test_other_errors_become_store_errors() -> None:
    with pytest.raises(StoreError, match="ValidationException"):
        _store(_Dynamo(error="ValidationException"), [], [0.0]).put_items(_items(1))


def test_the_time_spent_retrying_is_counted_from_the_first_partial_reply() -> None:
    # Given three partial replies: backoffs of 0.05, 0.1 and 0.2 s on the store's clock
    client, sleeps = _Dynamo(unprocessed=5, stubborn_calls=3), list[float]()
    stats = _store(client, sleeps, [0.0]).put_items(_items(25), deadline=100.0)
    assert stats.throttled_s == pytest.approx(0.35)


def test_writes_that_go_through_at_once_cost_no_throttled_time() -> None:
    stats = _store(_Dynamo(), [], [0.0]).put_items(_items(60))
    assert stats.throttled_s == 0.0


def _tenant_items(client: _Dynamo, clock: list[float]) -> TenantItems:
    def sleep(seconds: float) -> None:
        clock[0] += seconds

    return TenantItems("data", client, ["contacts"], sleep=sleep, clock=lambda: clock[0])  # type: ignore[arg-type]


def test_a_migration_writes_through_the_same_loop_25_at_a_time_retrying_unprocessed_items() -> None:
    client = _Dynamo(unprocessed=5, stubborn_calls=2)
    assert _tenant_items(client, [0.0]).put_all(iter(_items(60))) == 60
    assert client.calls == [25, 5, 5, 25, 10]
    assert sorted(client.written) == sorted(f"c-{n}" for n in range(60))


def test_a_migration_write_throttled_past_its_patience_fails_as_transient_for_a_rerun() -> None:
    clock = [0.0]
    with pytest.raises(TransientMigrationError, match="still unprocessed"):
        _tenant_items(_Dynamo(unprocessed=5, stubborn_calls=10_000), clock).put_all(_items(25))
    assert clock[0] < WRITE_PATIENCE_S
    with pytest.raises(MigrationStoreError, match="ValidationException"):
        _tenant_items(_Dynamo(error="ValidationException"), [0.0]).put_all(_items(1))
