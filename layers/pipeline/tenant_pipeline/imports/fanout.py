"""Fan-out: the validated rows, spooled to disk in batches during the pass, become batch messages.

Rows are spooled rather than sent as they are validated because a file over the invalid threshold must
load nothing, and the threshold is known only at the end of the pass. The spool is a temporary file of
one JSON line per batch (memory stays flat; `/tmp` holds at most the valid rows). Batch numbers are
deterministic (1, 2, ... in file order), so a re-run of the same validation re-sends the same batches,
and the per-batch markers make them count once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tenant_pipeline.imports.batch_message import BatchHeader, encode_rows
from tenant_pipeline.imports.keys import claim_check_key
from tenant_pipeline.store.batch_queue import MAX_ENTRIES, MAX_PAYLOAD_BYTES, BatchQueue
from tenant_pipeline.store.objects import ObjectStore

ATTRIBUTES_ALLOWANCE = 4 * 1024
"""Bytes kept free in every message (and call) for its message attributes."""
INLINE_LIMIT = MAX_PAYLOAD_BYTES - ATTRIBUTES_ALLOWANCE
_SQS_FORBIDDEN = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")  # U+FFFE, U+FFFF: SQS refuses them in bodies


class BatchSpool:
    """Valid rows, batched, in a temporary file."""

    def __init__(self, batch_rows: int) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._batch_rows = batch_rows
        self._rows: list[list[Any]] = []
        self.batches = 0
        self.rows = 0

    def add(self, row: list[Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self._batch_rows:
            self._spill()

    def _spill(self) -> None:
        # One line per batch: its row count, a space, its rows as JSON (which holds no raw newline).
        self._file.write(b"%d %s\n" % (len(self._rows), encode_rows(self._rows)))
        self.batches += 1
        self.rows += len(self._rows)
        self._rows = []

    def finish(self) -> None:
        if self._rows:
            self._spill()
        self._file.flush()

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        """`(batch_number, row_count, rows_json)` from batch 1, in file order."""
        self._file.seek(0)
        for number, line in enumerate(self._file, start=1):
            count, rows_json = line.rstrip(b"\n").split(b" ", 1)
            yield number, int(count), rows_json

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BatchSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class BatchFanout:
    """Sends spooled batches: rows inline when they fit, else a claim-check object; 10 per call."""

    def __init__(
        self,
        queue: BatchQueue,
        objects: ObjectStore,
        claim_bucket: str,
        message_attributes: Mapping[str, Any],
    ) -> None:
        self._queue = queue
        self._objects = objects
        self._bucket = claim_bucket
        self._attributes = dict(message_attributes)
        self._pending: list[dict[str, Any]] = []
        self._pending_bytes = 0
        self.sent = 0
        self.claim_checks = 0

    def send_all(
        self, spool: BatchSpool, *, job_id: str, tenant_id: str, entity: str, columns: Sequence[str]
    ) -> None:
        for number, row_count, rows_json in spool:
            header = BatchHeader(
                job_id=job_id,
                tenant_id=tenant_id,
                entity=entity,
                batch_number=number,
                row_count=row_count,
                columns=tuple(columns),
            )
            self.add(header, rows_json)
        self.flush()

    def add(self, header: BatchHeader, rows_json: bytes) -> None:
        body = header.body(rows_json)
        if len(body) > INLINE_LIMIT or any(marker in body for marker in _SQS_FORBIDDEN):
            key = claim_check_key(header.tenant_id, header.job_id, header.batch_number)
            self._objects.put_bytes(self._bucket, key, rows_json)
            body = header.claim_check_body(self._bucket, key)
            self.claim_checks += 1
        size = len(body) + ATTRIBUTES_ALLOWANCE
        if len(self._pending) == MAX_ENTRIES or self._pending_bytes + size > MAX_PAYLOAD_BYTES:
            self.flush()
        entry: dict[str, Any] = {"Id": f"b{header.batch_number}", "MessageBody": body.decode()}
        if self._attributes:
            entry["MessageAttributes"] = self._attributes
        self._pending.append(entry)
        self._pending_bytes += size

    def flush(self) -> None:
        if self._pending:
            self._queue.send_batch(self._pending)
            self.sent += len(self._pending)
        self._pending = []
        self._pending_bytes = 0
