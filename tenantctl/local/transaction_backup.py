"""DynamoDB TransactWriteItems in the local AWS backs up only the items it touches, not whole tables.

moto's `transact_write_items` deep-copies every table a transaction names (once per action naming it) so
that it can put the copies back if the transaction is cancelled. Every import batch counts itself in the
jobs table in a transaction, and that table grows with every import, so each transaction cost more
than the last and left a whole table's copy for the collector: a local AWS slowed down and grew with use.

`item_backups()` keeps moto's transaction code (its checks, its order, its CancellationReasons) and only
changes what it backs up: before moto runs, each item the transaction names is copied (or noted
absent); while it runs, moto's copy of a named table is the table itself; if it raises, exactly those
items are put back, so the tables hold what they held before, as DynamoDB's all-or-nothing promises.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.exceptions import MockValidationException, ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from tenantctl.local.while_serving import Replacement

_moto_transact_write_items: Callable[..., None] = DynamoDBBackend.transact_write_items


@dataclass(frozen=True)
class SavedItem:
    """One item as it was before the transaction: a deep copy, or None where there was none."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None

    def put_back(self) -> None:
        partition: Any = self.table.items
        if self.range_key is None:
            slot, key = partition, self.hash_key
        else:
            slot, key = partition[self.hash_key], self.range_key
        if self.item is None:
            slot.pop(key, None)
            if self.range_key is not None and not slot:
                partition.pop(self.hash_key, None)
        else:
            slot[key] = self.item


def saved_items(backend: DynamoDBBackend, transact_items: Sequence[dict[str, Any]]) -> list[SavedItem]:
    """A copy of every item the transaction names, each once. An action whose table or key cannot be
    read cannot write either (moto fails it the same way), so it has nothing to save."""
    saved: dict[tuple[int, DynamoType, DynamoType | None], SavedItem] = {}
    for action in transact_items:
        for operation in action.values():
            try:
                table = backend.get_table(operation["TableName"])
                hash_key, range_key = backend.get_keys_value(table, operation.get("Item") or operation["Key"])
                current = table.get_item(hash_key, range_key)
            except (KeyError, TypeError, AttributeError, MockValidationException, ResourceNotFoundException):
                continue
            slot = (id(table), hash_key, range_key)
            if slot not in saved:
                saved[slot] = SavedItem(table, hash_key, range_key, copy.deepcopy(current))
    return list(saved.values())


@contextmanager
def _tables_copied_by_reference(tables: Sequence[Table]) -> Iterator[None]:
    """While inside, `copy.deepcopy(table)` of these tables is the table itself (`copy` consults an
    instance's own `__deepcopy__`): moto's whole-table backup costs nothing and restores nothing. One
    transaction at a time sets it: the local server runs one DynamoDB write at a time."""
    for table in tables:
        table.__deepcopy__ = lambda memo, table=table: table  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for table in tables:
            del table.__deepcopy__  # type: ignore[attr-defined]


def _stream_lengths(tables: Sequence[Table]) -> list[tuple[Table, int]]:
    return [(table, len(table.stream_shard.items)) for table in tables if table.stream_shard is not None]


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved = saved_items(self, transact_items)
    tables = list({id(entry.table): entry.table for entry in saved}.values())
    streams = _stream_lengths(tables)
    with _tables_copied_by_reference(tables):
        try:
            _moto_transact_write_items(self, transact_items)
        except Exception:
            for entry in saved:
                entry.put_back()
            for table, length in streams:
                # The cancelled writes' stream records go too, as with moto's table copy.
                del table.stream_shard.items[length:]  # type: ignore[union-attr]
            raise


_replacement = Replacement(DynamoDBBackend, "transact_write_items", _transact_write_items)


def item_backups() -> AbstractContextManager[None]:
    """While inside (any number of local AWS servers at once), transactions back up only their items."""
    return _replacement.installed()
