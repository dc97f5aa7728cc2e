"""Where an import's time goes, as the pipeline measures it: kept in the jobs ledger so `tenantctl explain`
works from the ledger alone, whatever tracing backend (if any) a user runs.

Times are wall-clock nanoseconds (`time.time_ns`), comparable across invocations and with the job's start;
durations inside one invocation are measured on `time.perf_counter` and stored in seconds.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO


@dataclass(frozen=True)
class ValidationTiming:
    """The validator's invocation: one pass over the file (reading interleaved with parsing and checking
    rows, in one stream), then the report, then the fan-out of batch messages."""

    started_ns: int
    pass_ended_ns: int
    read_s: float
    """Time spent waiting for the object's bytes (S3 GET body reads), inside the pass."""
    fanout_started_ns: int
    fanout_ended_ns: int
    check_s: float = 0.0
    """Time spent checking rows and keeping each one's outcome (report line or spooled row), inside the
    pass; the rest of the pass, besides reading, is parsing. 0 in timings recorded before it was kept."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationTiming:
        return cls(
            started_ns=int(data["started_ns"]),
            pass_ended_ns=int(data["pass_ended_ns"]),
            read_s=float(data["read_s"]),
            fanout_started_ns=int(data["fanout_started_ns"]),
            fanout_ended_ns=int(data["fanout_ended_ns"]),
            check_s=float(data.get("check_s", 0.0)),
        )


@dataclass(frozen=True)
class BatchTiming:
    """One delivery of a batch to a loader, from the message's `SentTimestamp` to its count in the ledger."""

    batch_number: int
    rows: int
    sent_ns: int | None
    """When the validator sent the message (SQS `SentTimestamp`, millisecond precision)."""
    started_ns: int
    """When the loader took the message up."""
    write_started_ns: int
    write_ended_ns: int
    throttled_retries: int
    throttled_s: float
    """Of the write time, the part spent backing off and retrying throttled or unprocessed items."""
    ended_ns: int
    """When the batch was counted in the ledger."""
    receive_count: int = 1

    @property
    def queue_wait_s(self) -> float | None:
        if self.sent_ns is None:
            return None
        return max(0, self.started_ns - self.sent_ns) / 1e9

    @property
    def write_s(self) -> float:
        return (self.write_ended_ns - self.write_started_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchTiming:
        sent = data.get("sent_ns")
        return cls(
            batch_number=int(data["batch_number"]),
            rows=int(data["rows"]),
            sent_ns=int(sent) if sent is not None else None,
            started_ns=int(data["started_ns"]),
            write_started_ns=int(data["write_started_ns"]),
            write_ended_ns=int(data["write_ended_ns"]),
            throttled_retries=int(data["throttled_retries"]),
            throttled_s=float(data["throttled_s"]),
            ended_ns=int(data["ended_ns"]),
            receive_count=int(data.get("receive_count", 1)),
        )


def sent_ns_of(sent_timestamp_ms: str | int | None) -> int | None:
    """An SQS `SentTimestamp` (epoch milliseconds, as a string in events) in nanoseconds, None if absent."""
    try:
        return int(sent_timestamp_ms) * 1_000_000 if sent_timestamp_ms not in (None, "") else None
    except (TypeError, ValueError):
        return None


class _TimedRaw(io.RawIOBase):
    """Counts the time spent in the wrapped stream's `read`."""

    def __init__(self, inner: BinaryIO, clock: Callable[[], float]) -> None:
        self._inner = inner
        self._clock = clock
        self.seconds = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        started = self._clock()
        data = self._inner.read(len(buffer))
        self.seconds += self._clock() - started
        buffer[: len(data)] = data
        return len(data)


class TimedReads:
    """A byte stream over `inner` that knows how long reading it took (network and S3, not parsing)."""

    def __init__(self, inner: BinaryIO, clock: Callable[[], float] = time.perf_counter) -> None:
        self._raw = _TimedRaw(inner, clock)
        self.stream: BinaryIO = io.BufferedReader(self._raw)

    @property
    def seconds(self) -> float:
        return self._raw.seconds
