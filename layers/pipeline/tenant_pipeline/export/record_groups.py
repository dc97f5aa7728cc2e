"""The records of one exported entity, counted, timed and traced in groups.

Querying, serialising and uploading interleave in one stream, record by record, so a span per DynamoDB
page would mean thousands of spans for a large tenant: instead one span covers each group of
`group_records` records (at least `group_records / QUERY_PAGE_ITEMS` pages), from its first record's
arrival to the next group's, with the time spent waiting for the store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry.trace import Span

from tenant_pipeline.store.tenant_data import QUERY_PAGE_ITEMS
from tenant_telemetry import get_tracer
from tenant_telemetry.database import dynamodb_attributes, dynamodb_span_name

GROUP_RECORDS = 10 * QUERY_PAGE_ITEMS


def group_span_name(table: str) -> str:
    return dynamodb_span_name("Query", table)


class RecordGroups:
    """Passes records through, counting them and the time spent waiting for them (the store's queries),
    one `Query {table}` span per group, child of the span current while iterating."""

    def __init__(
        self, records: Iterable[Mapping[str, Any]], *, table: str, group_records: int = GROUP_RECORDS
    ) -> None:
        self._records = records
        self._table = table
        self._group_records = group_records
        self.count = 0
        self.read_s = 0.0
        self._group_first = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        records = iter(self._records)
        group: Span | None = None
        group_read_s = 0.0
        try:
            while True:
                started = time.perf_counter()
                record = next(records, None)
                waited = time.perf_counter() - started
                self.read_s += waited
                group_read_s += waited
                if record is None:
                    return
                if self.count % self._group_records == 0:
                    self._end(group, group_read_s - waited)
                    group, group_read_s = self._start(), waited
                self.count += 1
                yield record
        finally:
            self._end(group, group_read_s)

    def _start(self) -> Span:
        self._group_first = self.count
        return get_tracer().start_span(
            group_span_name(self._table),
            attributes={**dynamodb_attributes("Query", self._table), "export.first_record": self.count},
        )

    def _end(self, group: Span | None, read_s: float) -> None:
        if group is None:
            return
        group.set_attributes(
            {"db.response.returned_rows": self.count - self._group_first, "export.read_seconds": read_s}
        )
        group.end()
