"""DynamoDB Query in the local AWS reads only the queried partition, as DynamoDB does.

moto answers a Query on a table's own key by sorting every item of the table and keeping those with
the queried partition key, so one tenant's export slows down with every other tenant's data (a
533k-item table made a 2,295-record export 90 times slower). moto already stores a table's items by
partition key (`Table.items[hash_key]`), so `partition_queries()` hands moto's own `Table.query` a
view of the table that holds only the queried partition: key conditions, filters, pagination,
ScanIndexForward, Limit and ExclusiveStartKey stay moto's own code. Index queries (no partition map
to read from) are left as they are.
"""

from __future__ import annotations

import copy
import inspect
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from moto.dynamodb.models.table import Table

from tenantctl.local.while_serving import Replacement

_moto_query: Callable[..., Any] = Table.query
_SIGNATURE = inspect.signature(Table.query)


def partition_view(table: Table, hash_key: Any) -> Table:
    """A shallow copy of `table` whose items are the one partition (shared, not copied)."""
    view = copy.copy(table)
    partition = table.items.get(hash_key)  # `get`: the defaultdict must not grow a partition
    view.items = defaultdict(dict)
    if partition is not None:
        view.items[hash_key] = partition
    return view


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    arguments = _SIGNATURE.bind(self, *args, **kwargs).arguments
    if arguments.get("index_name") or arguments.get("hash_key") is None:
        return _moto_query(self, *args, **kwargs)
    return _moto_query(partition_view(self, arguments["hash_key"]), *args, **kwargs)


_replacement = Replacement(Table, "query", _query)


def partition_queries() -> AbstractContextManager[None]:
    """While inside (any number of local AWS servers at once), Query reads one partition."""
    return _replacement.installed()
