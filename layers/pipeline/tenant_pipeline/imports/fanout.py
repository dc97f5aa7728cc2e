"""Fan-out: the validated rows, spooled to disk in batches during the pass, become batch messages.

Rows are spooled rather than sent as they are validated because a file over the invalid threshold must
load nothing, and the threshold is known only at the end of the pass (and so are the duplicates of a
file larger than the key tracker's memory). The spool is a temporary file of one line per batch
(memory stays flat; `/tmp` holds at most the valid rows). A pass read in legs keeps one spool per leg,
a segment saved as bytes between invocations (`reopen`) whose rows carry on the ordinals of the
segments before it (`exclude`'s `first_ordinal`). Batch numbers are
deterministic (1, 2, ... in file order), so a re-run of the same validation re-sends the same batches,
and the per-batch markers make them count once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import compress
from typing import IO, Any

import orjson

from tenant_pipeline.imports.batch_message import BatchHeader, encode_rows
from tenant_pipeline.imports.keys import claim_check_key
from tenant_pipeline.store.batch_queue import MAX_ENTRIES, MAX_PAYLOAD_BYTES, BatchQueue
from tenant_pipeline.store.objects import ObjectStore
from tenant_pipeline.validation.duplicates import LateDuplicate

ATTRIBUTES_ALLOWANCE = 4 * 1024
"""Bytes kept free in every message (and call) for its message attributes."""
INLINE_LIMIT = MAX_PAYLOAD_BYTES - ATTRIBUTES_ALLOWANCE
_SQS_FORBIDDEN = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")  # U+FFFE, U+FFFF: SQS refuses them in bodies


class BatchSpool:
    """Valid rows, batched, in a temporary file.

    Each line holds one batch: its row count, its rows' source line numbers (JSON) and its rows
    (JSON, as the batch message carries them), separated by spaces. Rows arrive in bulk
    (`add_batch`) and are encoded one batch per `orjson.dumps` call. `exclude` drops rows found to
    be later duplicates only after the pass by their ordinal among the spooled rows (records can
    share a line; see `validation.duplicates`).
    """

    def __init__(self, batch_rows: int, file: IO[bytes] | None = None) -> None:
        self._file = file or tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._batch_rows = batch_rows
        self._lines: list[int] = []
        self._rows: list[Sequence[Any]] = []
        self.batches = 0
        self.rows = 0

    @classmethod
    def reopen(cls, file: IO[bytes], batch_rows: int) -> BatchSpool:
        """A finished spool saved earlier (a leg's segment), read from `file`, which it then owns."""
        spool = cls(batch_rows, file)
        for count, _, _ in spool._entries():
            spool.batches += 1
            spool.rows += int(count)
        spool._file.seek(0, 2)
        return spool

    def saved(self) -> IO[bytes]:
        """The finished spool's file, rewound, to save it as it is (it stays open)."""
        self._file.flush()
        self._file.seek(0)
        return self._file

    def add_batch(self, lines: Sequence[int], rows: Sequence[Sequence[Any]]) -> None:
        """Add valid rows (values in the entity's column order) with their source lines."""
        self._lines += lines
        self._rows += rows
        size = self._batch_rows
        while len(self._rows) >= size:
            self._spill(size)

    def _spill(self, count: int) -> None:
        self._write(self._file, self._lines[:count], encode_rows(self._rows[:count]))
        del self._lines[:count], self._rows[:count]

    def _write(self, file: IO[bytes], lines: list[int], rows_json: bytes) -> None:
        # JSON holds no raw newline, and orjson's line-number array no space.
        file.write(b"%d %s %s\n" % (len(lines), orjson.dumps(lines), rows_json))
        self.batches += 1
        self.rows += len(lines)

    def finish(self) -> None:
        if self._rows:
            self._spill(len(self._rows))
        self._file.flush()

    def _entries(self) -> Iterator[tuple[bytes, bytes, bytes]]:
        self._file.seek(0)
        for line in self._file:
            count, lines_json, rows_json = line.rstrip(b"\n").split(b" ", 2)
            yield count, lines_json, rows_json

    def with_ends(self) -> Iterator[tuple[int, bytes, int]]:
        """`(row_count, rows_json, end)` of each batch, `end` the byte just after it in the spool's file
        (where a later read can start: `LegParts.segment`)."""
        file = self._file
        file.seek(0)
        while line := file.readline():
            count, _, rows_json = line.rstrip(b"\n").split(b" ", 2)
            yield int(count), rows_json, file.tell()

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        """`(batch_number, row_count, rows_json)` from batch 1, in file order."""
        for number, (count, _, rows_json) in enumerate(self._entries(), start=1):
            yield number, int(count), rows_json

    def exclude(
        self,
        late: Iterator[LateDuplicate],
        on_removed: Callable[[LateDuplicate], None],
        *,
        first_ordinal: int = 0,
    ) -> int:
        """Drop the rows at the ordinals of `late` (ascending, all spooled); returns how many.

        `first_ordinal` is the ordinal of the spool's first row (a leg's segment: the rows before it).

        The spool is rewritten in place (a batch never grows by losing rows, so the writes stay behind
        the reads), so `/tmp` never holds it twice; batches left empty disappear, so batch numbers stay
        1..N. Memory holds one batch plus the duplicates falling in it.
        """
        pending = next(late, None)
        if pending is None:
            return 0
        removed = read_at = write_at = 0
        self.batches = self.rows = 0
        spool = self._file
        while True:
            spool.seek(read_at)
            line = spool.readline()
            if not line:
                break
            read_at = spool.tell()
            count, lines_json, rows_json = line.rstrip(b"\n").split(b" ", 2)
            end_ordinal = first_ordinal + int(count)
            numbers: list[int] = orjson.loads(lines_json)
            if pending is not None and pending.ordinal < end_ordinal:
                dropped: set[int] = set()
                while pending is not None and pending.ordinal < end_ordinal:
                    dropped.add(pending.ordinal - first_ordinal)
                    on_removed(pending)
                    pending = next(late, None)
                keep = [i not in dropped for i in range(len(numbers))]
                removed += len(dropped)
                numbers = list(compress(numbers, keep))
                rows_json = orjson.dumps(list(compress(orjson.loads(rows_json), keep)))
            first_ordinal = end_ordinal
            if numbers:
                spool.seek(write_at)
                self._write(spool, numbers, rows_json)
                write_at = spool.tell()
        spool.truncate(write_at)
        spool.flush()
        return removed

    def size_bytes(self) -> int:
        """Bytes the spool holds in `/tmp` (the capacity model sizes ephemeral storage by it)."""
        self._file.flush()
        return self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BatchSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class BatchFanout:
    """Sends spooled batches: rows inline when they fit, else a claim-check object; 10 per call; each in
    its tenant's message group."""

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

    def send_all(self, spool: BatchSpool, header: Callable[[int, int], BatchHeader]) -> None:
        """Send every batch of a spool; `header(batch_number, row_count)` heads each message."""
        for number, row_count, rows_json in spool:
            self.add(header(number, row_count), rows_json)
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
        entry: dict[str, Any] = {
            "Id": f"b{header.batch_number}",
            "MessageBody": body.decode(),
            # The tenant is the message group: on a standard queue SQS then delivers fairly across
            # tenants (fair queues), so one tenant's backlog does not hold back another's batches.
            "MessageGroupId": header.tenant_id,
        }
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
