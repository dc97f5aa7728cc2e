"""Where an export's time goes, kept in the jobs ledger for `tenantctl explain` (see `imports/timings.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ExportEntityTiming:
    """One entity of an export: querying the tenant's records, serialising them, uploading the file.
    The three interleave in one stream, so reading and uploading are measured and the rest is serialising."""

    index: int
    entity: str
    records: int
    started_ns: int
    read_s: float
    upload_s: float
    ended_ns: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportEntityTiming:
        return cls(
            index=int(data["index"]),
            entity=str(data["entity"]),
            records=int(data["records"]),
            started_ns=int(data["started_ns"]),
            read_s=float(data["read_s"]),
            upload_s=float(data["upload_s"]),
            ended_ns=int(data["ended_ns"]),
        )
