"""Reading a DynamoDB Query or Scan to its end: a result over 1 MB arrives in pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


def pages(operation: Callable[..., Mapping[str, Any]], **request: Any) -> Iterator[Mapping[str, Any]]:
    """Each page of `operation(**request)` (`client.query` or `client.scan`), following
    `LastEvaluatedKey`; a `ClientError` reaches the caller, whose adapter maps it."""
    while True:
        page = operation(**request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
