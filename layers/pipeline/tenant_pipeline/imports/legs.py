"""Validation in legs: what one invocation leaves for the next when a file takes longer than one.

A leg reads a plain CSV or JSON Lines file from its checkpoint until its time is up (`validation.Leg`).
Unless it read the whole file, it keeps its part of the work as objects under the job's internal
folder (`legs/{leg}/`: the spool segment of its valid rows, its part of the error report, the key
tracker's keys in memory and the spill pieces it wrote), the job keeps the checkpoint
(`JobsLedger.pass_validation_leg`), and the validation queue gets the request for the next leg, in the
tenant's message group. Once the file is read, a last leg (`Stage.FINISH`, in an invocation of its
own, so it has the whole timeout) joins the parts in file order: late duplicates over every leg's
spill pieces, the verdict, the one error report, the fan-out.

A request names its leg; the job names the leg whose turn it is. A request for an earlier leg (a
duplicate delivery) has nothing left to do; one for a later leg waits until the job gets there,
which the request's delivery delay (`topology.VALIDATION_HANDOVER_DELAY_S`) makes rare.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any
from urllib.parse import quote_plus

from tenant_pipeline.imports.keys import batches_prefix
from tenant_pipeline.store.objects import ObjectStore
from tenant_pipeline.validation import KeyTracker, ReadCheckpoint

LEG_FIELD = "leg"
"""The request body's field naming its leg (absent in S3's own notification: the first leg)."""


class Stage(StrEnum):
    READ = "read"
    """The next leg reads on from `LegCheckpoint.read_point`."""
    FINISH = "finish"
    """The file is read: the next leg joins the legs' parts and fans out."""


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "leg": self.leg,
            "stage": self.stage.value,
            "read_point": self.read_point.to_dict() if self.read_point is not None else None,
            "total": self.total,
            "invalid": self.invalid,
            "read": self.read,
            "keys_passed": self.keys_passed,
            "keys_spilling": self.keys_spilling,
            "spilled": [[leg, list(parts)] for leg, parts in self.spilled],
            "rejected": self.rejected,
            "renamed": dict(self.renamed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LegCheckpoint:
        point = data.get("read_point")
        return cls(
            leg=int(data["leg"]),
            stage=Stage(data["stage"]),
            read_point=ReadCheckpoint.from_dict(point) if point else None,
            total=int(data["total"]),
            invalid=int(data["invalid"]),
            read=int(data["read"]),
            keys_passed=int(data["keys_passed"]),
            keys_spilling=bool(data["keys_spilling"]),
            spilled=tuple((int(leg), tuple(map(int, parts))) for leg, parts in data.get("spilled", [])),
            rejected=data.get("rejected"),
            renamed=dict(data.get("renamed") or {}),
        )


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

    def append_spools(self, legs: int, file: IO[bytes]) -> None:
        """Append the spool segments of legs 1..`legs`, in file order, to `file`."""
        for leg in range(1, legs + 1):
            self._objects.download_to(self._bucket, self._key(leg, "spool"), file)

    def report_parts(self, legs: int) -> Iterator[IO[bytes]]:
        """Each leg's part of the error report, in file order (one in a temporary file at a time)."""
        for leg in range(1, legs + 1):
            with self._downloaded(self._key(leg, "errors.csv")) as part:
                yield part

    def add_spills(self, spilled: Iterable[tuple[int, Iterable[int]]], keys: KeyTracker) -> None:
        """Join every leg's spill pieces into `keys`, partition by partition in file order."""
        for leg, partitions in spilled:
            for partition in partitions:
                with self._downloaded(self._key(leg, f"spill-{partition:03d}")) as piece:
                    keys.add_spilled(partition, piece)

    @contextmanager
    def _downloaded(self, key: str) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile() as file:
            self._objects.download_to(self._bucket, key, file)
            file.seek(0)
            yield file


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
