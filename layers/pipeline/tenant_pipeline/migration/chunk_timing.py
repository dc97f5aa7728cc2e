"""Where one load chunk's time went, kept in the jobs ledger for `tenantctl explain` (see
`imports/timings.py`): beside the migration's phase entries, these name its slowest chunks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ChunkTiming:
    """One load of one snapshot chunk into the target table; a retried chunk's last load replaces it."""

    chunk: int
    """The chunk's number in the manifest."""
    records: int
    started_ns: int
    read_s: float
    """Reading the chunk from the target's snapshot bucket and checking its digest."""
    write_started_ns: int
    write_ended_ns: int
    throttled_retries: int
    """BatchWriteItem rounds that retried unprocessed (throttled) items."""
    throttled_s: float
    ended_ns: int

    @property
    def seconds(self) -> float:
        return (self.ended_ns - self.started_ns) / 1e9

    @property
    def write_s(self) -> float:
        return (self.write_ended_ns - self.write_started_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkTiming:
        return cls(
            chunk=int(data["chunk"]),
            records=int(data["records"]),
            started_ns=int(data["started_ns"]),
            read_s=float(data["read_s"]),
            write_started_ns=int(data["write_started_ns"]),
            write_ended_ns=int(data["write_ended_ns"]),
            throttled_retries=int(data["throttled_retries"]),
            throttled_s=float(data["throttled_s"]),
            ended_ns=int(data["ended_ns"]),
        )
