"""Validation in legs: what one invocation leaves for the next when a file takes longer than one.

A leg reads a plain CSV or JSON Lines file from its checkpoint until its time is up (`validation.Leg`).
Unless it read the whole file, it keeps its part of the work as objects under the job's internal
folder (`legs/{leg}/`: the spool segment of its valid rows, its part of the error report, the key
tracker's keys in memory and the spill pieces it wrote), the job keeps the checkpoint
(`JobsLedger.pass_validation_leg`), and the validation queue gets the request for the next leg, in the
tenant's message group. Once the file is read, the finishing stages (`imports.finishing`: late
duplicates partition by partition, each segment settled, the report joined part by part, the verdict,
the fan-out segment by segment) go on in legs the same way, until the last batch is sent. A file
read whole in one invocation is finished in it, when it has the time left (`ImportValidator`).

A request names its leg; the job names the leg whose turn it is. A request for an earlier leg (a
duplicate delivery) has nothing left to do; one for a later leg waits until the job gets there,
which the request's delivery delay (`topology.VALIDATION_HANDOVER_DELAY_S`) makes rare.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import IO, Any
from urllib.parse import quote_plus

from tenant_pipeline.errors import StaleCheckpointError
from tenant_pipeline.imports.keys import batches_prefix
from tenant_pipeline.store.objects import ObjectStore
from tenant_pipeline.validation import KeyTracker, ReadCheckpoint

REPORT_PART_BYTES = 64 * 1024**2
"""Bytes of each part of the joined report but the last (S3 asks at least 5 MiB of all but the last)."""
REPORT_HEADER = b"line,field,value,reason\r\n"
"""Each report part's first line (`imports.report.HEADER`, as the csv module writes it)."""
LEG_FIELD = "leg"
"""The request body's field naming its leg (absent in S3's own notification: the first leg)."""


class Stage(StrEnum):
    """What the next leg does. After the reading, each stage goes on in as many legs as it needs."""

    READ = "read"
    """Read on from `LegCheckpoint.read_point`."""
    DUPLICATES = "duplicates"
    """Resolve the key tracker's spill partitions, one at a time, into each segment's late duplicates."""
    SETTLE = "settle"
    """Rewrite each spool segment holding late duplicates without them, and report them."""
    VERDICT = "verdict"
    """Join the report's parts, part by part, then record the counts and the verdict."""
    FANOUT = "fanout"
    """Send the batches, segment by segment."""


@dataclass(frozen=True)
class Segment:
    """One read leg's spool of valid rows: its rows and batches as read, and after settling."""

    rows: int
    batches: int
    settled_rows: int | None = None
    """Rows once its late duplicates are dropped (None: it held none, or is not settled yet)."""
    settled_batches: int | None = None

    @property
    def settled(self) -> bool:
        return self.settled_rows is not None

    @property
    def final_rows(self) -> int:
        return self.rows if self.settled_rows is None else self.settled_rows

    @property
    def final_batches(self) -> int:
        return self.batches if self.settled_batches is None else self.settled_batches


@dataclass(frozen=True)
class ReportUpload:
    """The joined report's multipart upload: the next part to upload, and where its bytes start."""

    upload_id: str
    next_part: int = 1
    source: int = 0
    """The report part (index in `LegParts.report_keys`) the next part's bytes start in."""
    offset: int = 0
    """The byte of that report part they start at (0: after its header)."""


@dataclass(frozen=True)
class LegCheckpoint:
    """What the job keeps between legs: where to go on, the counts so far, and which parts exist."""

    leg: int
    """The leg to run next."""
    stage: Stage
    read_point: ReadCheckpoint | None
    total: int
    invalid: int
    read: int
    keys_passed: int
    keys_spilling: bool
    spilled: tuple[tuple[int, tuple[int, ...]], ...] = ()
    """(leg, the spill partitions it wrote pieces of), for the legs that wrote any."""
    rejected: str | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)
    shard_count: int = 1
    """The tenant's, as the reading found it: the finishing legs' batches carry it to the loader."""
    max_invalid_ratio: float = 0.0
    """The tenant's, as the reading found it: the verdict applies it."""
    segments: tuple[Segment, ...] = ()
    """The read legs' spool segments, leg 1 first."""
    next_partition: int = 0
    """`DUPLICATES`: the first spill partition not resolved yet."""
    late: tuple[tuple[int, tuple[int, ...]], ...] = ()
    """(segment, the partitions whose late duplicates fall in it), for the segments holding any."""
    next_segment: int = 1
    """`SETTLE` and `FANOUT`: the first segment not done yet."""
    sent: int = 0
    """`FANOUT`: batches of `next_segment` already sent."""
    sent_bytes: int = 0
    """`FANOUT`: where the first batch not sent starts in `next_segment`'s file."""
    report: ReportUpload | None = None
    report_uri: str | None = None
    started_ns: int = 0
    """When the validation's first leg began (its timing covers every leg)."""
    read_s: float = 0.0
    check_s: float = 0.0
    pass_ended_ns: int = 0
    fanout_started_ns: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stage"] = self.stage.value
        data["read_point"] = self.read_point.to_dict() if self.read_point is not None else None
        data["renamed"] = dict(self.renamed)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LegCheckpoint:
        if "segments" not in data or data.get("stage") not in set(Stage):
            raise StaleCheckpointError(
                "the validation was begun by an earlier version of the validator and cannot go on; "
                "upload the file again"
            )
        point, report = data.get("read_point"), data.get("report")
        return cls(
            **{name: data[name] for name in _PLAIN_FIELDS if name in data},
            stage=Stage(data["stage"]),
            read_point=ReadCheckpoint.from_dict(point) if point else None,
            spilled=_leg_lists(data.get("spilled", [])),
            late=_leg_lists(data.get("late", [])),
            renamed=dict(data.get("renamed") or {}),
            segments=tuple(Segment(**segment) for segment in data.get("segments", [])),
            report=ReportUpload(**report) if report else None,
        )

    def first_ordinal(self, segment: int) -> int:
        """The ordinal (among the file's valid rows, as read) of a segment's first row."""
        return sum(s.rows for s in self.segments[: segment - 1])

    def first_batch(self, segment: int) -> int:
        """The batch number of a segment's first batch, once every segment is settled."""
        return 1 + sum(s.final_batches for s in self.segments[: segment - 1])

    def late_partitions(self, segment: int) -> tuple[int, ...]:
        return dict(self.late).get(segment, ())


_PLAIN_FIELDS = (
    "leg",
    "total",
    "invalid",
    "read",
    "keys_passed",
    "keys_spilling",
    "rejected",
    "shard_count",
    "max_invalid_ratio",
    "next_partition",
    "next_segment",
    "sent",
    "sent_bytes",
    "report_uri",
    "started_ns",
    "read_s",
    "check_s",
    "pass_ended_ns",
    "fanout_started_ns",
)


def _leg_lists(data: Iterable[Any]) -> tuple[tuple[int, tuple[int, ...]], ...]:
    return tuple((int(leg), tuple(map(int, parts))) for leg, parts in data)


class LegParts:
    """The objects a job's legs leave in the bucket of its source, one folder per leg."""

    def __init__(self, objects: ObjectStore, bucket: str, tenant_id: str, job_id: str) -> None:
        self._objects = objects
        self._bucket = bucket
        self._prefix = f"{batches_prefix(tenant_id, job_id)}legs/"

    def _key(self, leg: int, name: str) -> str:
        return f"{self._prefix}{leg:05d}/{name}"

    def save(
        self,
        leg: int,
        *,
        spool: IO[bytes],
        report: IO[bytes],
        keys_memory: bytes,
        spill_pieces: Iterable[tuple[int, IO[bytes]]],
    ) -> tuple[int, ...]:
        """Keep one leg's parts; returns the partitions it wrote spill pieces of."""
        self._objects.upload_file(self._bucket, self._key(leg, "spool"), spool, "application/octet-stream")
        self._objects.upload_file(
            self._bucket, self._key(leg, "errors.csv"), report, "text/csv; charset=utf-8"
        )
        self._objects.put_bytes(self._bucket, self._key(leg, "keys.json"), keys_memory)
        partitions = []
        for partition, piece in spill_pieces:
            key = self._key(leg, f"spill-{partition:03d}")
            self._objects.upload_file(self._bucket, key, piece, "application/octet-stream")
            partitions.append(partition)
        return tuple(partitions)

    def keys_memory(self, leg: int) -> bytes:
        return self._objects.get_bytes(self._bucket, self._key(leg, "keys.json"))

    def add_spill_pieces(
        self, spilled: Iterable[tuple[int, Iterable[int]]], partition: int, keys: KeyTracker
    ) -> None:
        """Join every leg's piece of one spill partition into `keys`, in file order."""
        for leg, partitions in spilled:
            if partition in partitions:
                with self._downloaded(self._key(leg, f"spill-{partition:03d}")) as piece:
                    keys.add_spilled(partition, piece)

    def save_late(self, segment: int, partition: int, found: IO[bytes]) -> None:
        """Keep the late duplicates one partition holds in one segment."""
        key = self._key(segment, f"late-{partition:03d}")
        self._objects.upload_file(self._bucket, key, found, "application/octet-stream")

    @contextmanager
    def late_pieces(self, segment: int, partitions: Iterable[int]) -> Iterator[list[IO[bytes]]]:
        """A segment's late duplicates, one downloaded file per partition that found any."""
        with ExitStack() as files:
            pieces = [
                files.enter_context(self._downloaded(self._key(segment, f"late-{p:03d}"))) for p in partitions
            ]
            yield pieces

    @contextmanager
    def segment(self, leg: int, *, settled: bool, start: int = 0) -> Iterator[IO[bytes]]:
        """A read leg's spool segment, as read or settled, downloaded from byte `start` (a batch's)."""
        key = self._key(leg, "settled" if settled else "spool")
        if not start:
            with self._downloaded(key) as file:
                yield file
            return
        rest = self._objects.open(self._bucket, key, start=start)
        with tempfile.TemporaryFile() as file:
            try:
                shutil.copyfileobj(rest.body, file)
            finally:
                rest.close()
            file.seek(0)
            yield file

    def save_settled(self, leg: int, spool: IO[bytes], late_report: IO[bytes]) -> None:
        """Keep a segment without its late duplicates, and the report lines of those."""
        self._objects.upload_file(self._bucket, self._key(leg, "settled"), spool, "application/octet-stream")
        self._objects.upload_file(
            self._bucket, self._key(leg, "late-errors.csv"), late_report, "text/csv; charset=utf-8"
        )

    def report_keys(self, segments: Sequence[Segment]) -> list[str]:
        """The report's parts in the order the report lists them: each read leg's lines in file order,
        then the late duplicates of each settled segment (as one pass reports them: last)."""
        read = [self._key(leg, "errors.csv") for leg in range(1, len(segments) + 1)]
        late = [self._key(leg, "late-errors.csv") for leg, s in enumerate(segments, start=1) if s.settled]
        return read + late

    def join_report(self, keys: Sequence[str], into: str, upload: ReportUpload) -> ReportUpload | None:
        """Upload the next part of the joined report (`keys`' contents, one header); returns where the
        part after it starts, or None once the last part is uploaded."""
        part_bytes = REPORT_PART_BYTES
        chunks, size = [], 0
        source, offset = upload.source, upload.offset
        while source < len(keys) and size < part_bytes:
            start = offset or (len(REPORT_HEADER) if source else 0)  # one header: the first part's
            chunk = self._objects.read_range(self._bucket, keys[source], start, part_bytes - size)
            chunks.append(chunk)
            size += len(chunk)
            if size < part_bytes:
                source, offset = source + 1, 0  # that part ended
            else:
                offset = start + len(chunk)
        if not size and upload.next_part > 1:
            return None  # what was left were headers: the parts uploaded hold the whole report
        self._objects.upload_part(self._bucket, into, upload.upload_id, upload.next_part, b"".join(chunks))
        if source >= len(keys):
            return None
        return ReportUpload(upload.upload_id, upload.next_part + 1, source, offset)

    def start_report(self, into: str) -> ReportUpload:
        return ReportUpload(self._objects.start_upload(self._bucket, into, "text/csv; charset=utf-8"))

    def complete_report(self, into: str, upload: ReportUpload) -> str:
        return self._objects.complete_upload(self._bucket, into, upload.upload_id)

    def joined_report(self, into: str) -> str | None:
        """The joined report's URI if an earlier attempt of this leg completed it (its bytes are the
        same: the parts are), else None."""
        return f"s3://{self._bucket}/{into}" if self._objects.exists(self._bucket, into) else None

    @contextmanager
    def _downloaded(self, key: str) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile() as file:
            self._objects.download_to(self._bucket, key, file)
            file.seek(0)
            yield file


class ScratchSpace:
    """Whether a read leg has filled its share of `/tmp`: half of what was free when it began (Lambda's
    `/tmp` holds the leg's spool segment, report part and spill pieces until it hands them over, and the
    finishing stages then hold one leg's segment at a time, so a leg must end before `/tmp` is full)."""

    SHARE = 0.5

    def __init__(self, directory: str | None = None) -> None:
        self._directory = directory or tempfile.gettempdir()
        free = shutil.disk_usage(self._directory).free
        self._floor = free - free * self.SHARE

    def full(self) -> bool:
        return shutil.disk_usage(self._directory).free < self._floor


def leg_request_body(
    *, bucket: str, key: str, version_id: str | None, etag: str | None, size: int | None, leg: int
) -> str:
    """The validation request for `leg` of an object: S3's notification record, as the router sends
    it, plus the leg."""
    obj: dict[str, Any] = {"key": quote_plus(key)}
    if version_id:
        obj["versionId"] = version_id
    if etag:
        obj["eTag"] = etag
    if size is not None:
        obj["size"] = size
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": obj},
    }
    return json.dumps({"Records": [record], LEG_FIELD: leg})


def requested_leg(body: Mapping[str, Any]) -> int:
    """The leg a validation request asks for (1 for S3's notification)."""
    leg = body.get(LEG_FIELD, 1)
    return leg if isinstance(leg, int) and leg >= 1 else 1
