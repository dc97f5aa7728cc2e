"""Numbers a trace view needs: durations as people read them, sibling statistics, uncovered gaps."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def human_duration(ms: float) -> str:
    """`0.4 ms`, `812.0 ms`, `12.35 s`, `4m 12s`: precise for short spans, short for long ones."""
    if ms < 1000:
        return f"{ms:.1f} ms"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def human_offset(ms: float) -> str:
    """An offset from the trace's start, signed so it reads as `+12.35 s`."""
    return "+" + human_duration(ms)


@dataclass(frozen=True)
class DurationStats:
    """What one line says about a group of sibling spans of the same name."""

    count: int
    min_ms: float
    median_ms: float
    max_ms: float
    total_ms: float

    @classmethod
    def of(cls, durations_ms: Sequence[float]) -> DurationStats:
        return cls(
            count=len(durations_ms),
            min_ms=min(durations_ms),
            median_ms=statistics.median(durations_ms),
            max_ms=max(durations_ms),
            total_ms=sum(durations_ms),
        )

    def describe(self) -> str:
        return (
            f"min {human_duration(self.min_ms)}  median {human_duration(self.median_ms)}  "
            f"max {human_duration(self.max_ms)}  total {human_duration(self.total_ms)}"
        )


@dataclass(frozen=True)
class Gap:
    """A stretch of a span's time that none of its children covers (waiting, polling, idle)."""

    start_ns: int
    end_ns: int

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def uncovered_gaps(start_ns: int, end_ns: int, children: Iterable[tuple[int, int]]) -> list[Gap]:
    """Parts of [start_ns, end_ns] outside every child interval, in time order."""
    gaps: list[Gap] = []
    cursor = start_ns
    for child_start, child_end in sorted(children):
        if child_start > cursor:
            gaps.append(Gap(cursor, min(child_start, end_ns)))
        cursor = max(cursor, min(child_end, end_ns))
    if end_ns > cursor:
        gaps.append(Gap(cursor, end_ns))
    return gaps


def telling_gaps(gaps: Sequence[Gap], parent_ms: float, *, limit: int) -> tuple[list[Gap], list[Gap]]:
    """(shown, hidden): gaps worth a line are at least 1 ms and 1% of the parent; the `limit` longest
    are shown in time order, so a parent with many small pauses still reads in a few lines."""
    worth = [gap for gap in gaps if gap.duration_ms >= max(1.0, parent_ms * 0.01)]
    longest = sorted(worth, key=lambda gap: gap.duration_ms, reverse=True)
    shown = sorted(longest[:limit], key=lambda gap: gap.start_ns)
    return shown, longest[limit:]
