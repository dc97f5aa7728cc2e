"""The stages after a validation read in legs, each going on in as many legs as it needs.

Each stage works through units (a spill partition, a spool segment, a part of the report, a batch
message) and, before any unit but a leg's first, stops unless the time left holds another (`LegTime`),
returning the checkpoint the next leg goes on from: every leg makes progress, and a stage with nothing to
do costs no leg. A unit done again from the same checkpoint writes the same objects, so a leg retried
after a failure repeats its work exactly. Memory and `/tmp` hold one unit at a time, whatever the
file's size:

1. `resolve_duplicates`: the key tracker's spill partitions, one at a time, each joined from every
   read leg's piece of it; the later duplicates it holds are kept per spool segment they fall in.
2. `settle`: each spool segment holding late duplicates is rewritten without them (`BatchSpool.exclude`),
   and their report lines are written.
3. `join_report`: the report's parts become one object, by a multipart upload, part by part.
4. `fan_out`: the batches, segment by segment, numbered on from the segments before.
"""

from __future__ import annotations

import bisect
import heapq
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from itertools import groupby
from operator import attrgetter

from tenant_pipeline.imports.batch_message import BatchHeader
from tenant_pipeline.imports.fanout import BatchFanout, BatchSpool
from tenant_pipeline.imports.legs import LegCheckpoint, LegParts, Stage
from tenant_pipeline.imports.report import ErrorReport
from tenant_pipeline.validation import (
    KeyTracker,
    LateDuplicate,
    duplicate_reason,
    late_duplicates_in,
    write_late_duplicates,
)


class LegTime:
    """Whether a leg may start another unit: always its first; after it, while the time left holds the
    longest unit the leg has done, so a leg ends before its deadline rather than in the middle of a unit."""

    def __init__(self, clock: Callable[[], float], ends: float | None) -> None:
        self._clock = clock
        self._ends = ends
        self._longest = 0.0
        self.units = 0

    def allows(self) -> bool:
        return self.units == 0 or self._ends is None or self._clock() + self._longest <= self._ends

    @contextmanager
    def unit(self) -> Iterator[None]:
        started = self._clock()
        yield
        self.units += 1
        self._longest = max(self._longest, self._clock() - started)


class FinishingStages:
    """Runs the stages after the reading for one job, within one leg's time."""

    def __init__(
        self, parts: LegParts, *, batch_rows: int, key_field: str, key_memory: int, time: LegTime
    ) -> None:
        self._parts = parts
        self._batch_rows = batch_rows
        self._key_field = key_field
        self._key_memory = key_memory
        self._time = time

    def resolve_duplicates(self, checkpoint: LegCheckpoint) -> LegCheckpoint:
        """Resolve the spill partitions from `next_partition` on; `SETTLE` comes next once all are."""
        cp = checkpoint
        partitions = sorted({p for _, written in cp.spilled for p in written if p >= cp.next_partition})
        starts = [cp.first_ordinal(n) for n in range(1, len(cp.segments) + 1)]
        for partition in partitions:
            if not self._time.allows():
                return cp
            with self._time.unit(), KeyTracker(self._key_memory) as keys:
                self._parts.add_spill_pieces(cp.spilled, partition, keys)
                segments = self._keep_late(keys.partition_duplicates(partition), partition, starts)
            late = dict(cp.late)
            for segment in segments:
                late[segment] = (*late.get(segment, ()), partition)
            cp = replace(cp, next_partition=partition + 1, late=tuple(sorted(late.items())))
        return replace(cp, stage=Stage.SETTLE, next_segment=1)

    def _keep_late(self, found: Iterator[LateDuplicate], partition: int, starts: list[int]) -> list[int]:
        """Write one partition's late duplicates (in file order) per segment they fall in; returns those
        segments."""
        segments = []
        for segment, in_segment in groupby(found, lambda late: bisect.bisect_right(starts, late.ordinal)):
            with tempfile.TemporaryFile() as file:
                write_late_duplicates(file, in_segment)
                file.seek(0)
                self._parts.save_late(segment, partition, file)
            segments.append(segment)
        return segments

    def settle(self, checkpoint: LegCheckpoint) -> LegCheckpoint:
        """Settle the segments from `next_segment` on; `VERDICT` comes next once all are."""
        cp = checkpoint
        last = max((segment for segment, _ in cp.late), default=0)
        for segment in range(cp.next_segment, last + 1):
            partitions = cp.late_partitions(segment)
            if not partitions:
                continue
            if not self._time.allows():
                return cp
            with self._time.unit():
                removed, rows, batches = self._settle_segment(cp, segment, partitions)
            segments = list(cp.segments)
            segments[segment - 1] = replace(segments[segment - 1], settled_rows=rows, settled_batches=batches)
            cp = replace(cp, invalid=cp.invalid + removed, segments=tuple(segments), next_segment=segment + 1)
        return replace(cp, stage=Stage.VERDICT, next_segment=1)

    def _settle_segment(
        self, cp: LegCheckpoint, segment: int, partitions: tuple[int, ...]
    ) -> tuple[int, int, int]:
        """Rewrite one segment without its late duplicates; returns (removed, rows, batches) after."""
        with (
            self._parts.late_pieces(segment, partitions) as pieces,
            self._parts.segment(segment, settled=False) as file,
            BatchSpool.reopen(file, self._batch_rows) as spool,
            ErrorReport() as report,
        ):
            late = heapq.merge(*map(late_duplicates_in, pieces), key=attrgetter("ordinal"))
            removed = spool.exclude(
                late,
                lambda found: report.add(
                    found.line, self._key_field, found.key, duplicate_reason(found.first_line)
                ),
                first_ordinal=cp.first_ordinal(segment),
            )
            self._parts.save_settled(segment, spool.saved(), report.saved())
            return removed, spool.rows, spool.batches

    def join_report(self, checkpoint: LegCheckpoint, into: str) -> LegCheckpoint:
        """Upload the joined report's parts from where the last leg stopped; `report_uri` once done."""
        cp = checkpoint
        joined = self._parts.joined_report(into)
        if joined is not None:  # an earlier attempt of this leg completed it, then failed
            return replace(cp, report=None, report_uri=joined)
        keys = self._parts.report_keys(cp.segments)
        while self._time.allows():
            with self._time.unit():
                upload = cp.report or self._parts.start_report(into)
                following = self._parts.join_report(keys, into, upload)
                if following is None:
                    return replace(cp, report=None, report_uri=self._parts.complete_report(into, upload))
            cp = replace(cp, report=following)
        return cp

    def fan_out(
        self, checkpoint: LegCheckpoint, fanout: BatchFanout, header: Callable[[int, int], BatchHeader]
    ) -> LegCheckpoint:
        """Send the batches from `next_segment` (from its batch `sent`, read from `sent_bytes` on) on; done
        once `next_segment` is past the last segment. `header(batch_number, row_count)` heads each message."""
        cp = checkpoint
        for segment in range(cp.next_segment, len(cp.segments) + 1):
            first = cp.first_batch(segment) + cp.sent
            settled = cp.segments[segment - 1].settled
            with (
                self._parts.segment(segment, settled=settled, start=cp.sent_bytes) as file,
                BatchSpool.reopen(file, self._batch_rows) as spool,
            ):
                done = 0  # bytes of the batches sent, from `cp.sent_bytes`
                for index, (row_count, rows_json, end) in enumerate(spool.with_ends()):
                    if not self._time.allows():
                        fanout.flush()
                        return replace(cp, sent=cp.sent + index, sent_bytes=cp.sent_bytes + done)
                    with self._time.unit():
                        fanout.add(header(first + index, row_count), rows_json)
                    done = end
            fanout.flush()
            cp = replace(cp, next_segment=segment + 1, sent=0, sent_bytes=0)
        return cp
