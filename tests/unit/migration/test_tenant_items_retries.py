"""The migration's writes count the rounds DynamoDB left items unprocessed (it throttled them)."""

from __future__ import annotations

from typing import Any

from tenant_pipeline.migration.tenant_items import TenantItems


class _PartialWrites:
    """A BatchWriteItem that leaves the last item of each of the first `partial` calls unprocessed,
    as DynamoDB does when it throttles part of a batch."""

    def __init__(self, partial: int) -> None:
        self.partial = partial
        self.written: list[str] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        if self.partial > 0:
            self.partial -= 1
            done, left = requests[:-1], requests[-1:]
        else:
            done, left = requests, []
        self.written += [request["PutRequest"]["Item"]["sk"]["S"] for request in done]
        return {"UnprocessedItems": {table: left} if left else {}}


def _items(count: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": "acme#contacts#0"}, "sk": {"S": f"c-{n}"}} for n in range(count)]


def test_unprocessed_items_are_retried_and_counted() -> None:
    client = _PartialWrites(partial=2)
    store = TenantItems("data", client, ("contacts",), sleep=lambda _: None)  # type: ignore[arg-type]

    written = store.put_all(_items(30))

    assert written == 30
    assert sorted(client.written) == sorted(f"c-{n}" for n in range(30))
    assert store.throttled_retries == 2
    assert store.throttled_s >= 0


def test_writes_without_throttling_count_no_retries() -> None:
    store = TenantItems("data", _PartialWrites(partial=0), ("contacts",))  # type: ignore[arg-type]

    assert store.put_all(_items(30)) == 30
    assert (store.throttled_retries, store.throttled_s) == (0, 0.0)
