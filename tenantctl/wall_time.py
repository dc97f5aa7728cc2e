"""Splits a job's wall time among overlapping activities: each instant goes to the most telling activity
running then, so the shares add up to the wall time and the largest one is what bound the job.

Batches overlap (many loaders at once), so adding their durations says nothing about the wall time;
sweeping the timeline does. An instant no activity covers is `unaccounted`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNACCOUNTED = "unaccounted"


@dataclass(frozen=True)
class Activity:
    """Something that ran from `start_ns` to `end_ns`. `throttled_fraction` of a write's time was spent
    backing off and retrying, which the sweep gives to `throttled_label` instead."""

    label: str
    start_ns: int
    end_ns: int
    throttled_fraction: float = 0.0


@dataclass(frozen=True)
class WallTimeSplit:
    seconds: dict[str, float]
    """Per label (and `unaccounted`), in priority order; zero-second labels included."""


def split_wall_time(
    start_ns: int,
    end_ns: int,
    activities: Iterable[Activity],
    priority: Sequence[str],
    *,
    throttled_label: str | None = None,
) -> WallTimeSplit:
    """Give each stretch of [start_ns, end_ns] to the running activity whose label comes first in
    `priority` (labels not in it are ignored)."""
    rank = {label: index for index, label in enumerate(priority)}
    events: list[tuple[int, int, str, float]] = []
    for activity in activities:
        begin, end = max(activity.start_ns, start_ns), min(activity.end_ns, end_ns)
        if activity.label in rank and end > begin:
            events.append((begin, 1, activity.label, activity.throttled_fraction))
            events.append((end, -1, activity.label, activity.throttled_fraction))
    events.sort(key=lambda event: (event[0], event[1]))
    seconds = dict.fromkeys([*priority, *([throttled_label] if throttled_label else []), UNACCOUNTED], 0.0)
    running = dict.fromkeys(priority, 0)
    throttled_sum = dict.fromkeys(priority, 0.0)
    cursor = start_ns
    for at, change, label, throttled in events:
        _credit(
            seconds,
            running=running,
            throttled_sum=throttled_sum,
            priority=priority,
            stretch_s=(at - cursor) / 1e9,
            throttled_label=throttled_label,
        )
        cursor = at
        running[label] += change
        throttled_sum[label] += change * throttled
    _credit(
        seconds,
        running=running,
        throttled_sum=throttled_sum,
        priority=priority,
        stretch_s=(end_ns - cursor) / 1e9,
        throttled_label=throttled_label,
    )
    return WallTimeSplit(seconds)


def _credit(
    seconds: dict[str, float],
    *,
    running: dict[str, int],
    throttled_sum: dict[str, float],
    priority: Sequence[str],
    stretch_s: float,
    throttled_label: str | None,
) -> None:
    if stretch_s <= 0:
        return
    label = next((label for label in priority if running[label] > 0), UNACCOUNTED)
    if label == UNACCOUNTED or throttled_label is None:
        seconds[label] += stretch_s
        return
    # Of the loaders writing now, the average share of their write time that was throttling.
    throttled = stretch_s * min(1.0, max(0.0, throttled_sum[label] / running[label]))
    seconds[throttled_label] += throttled
    seconds[label] += stretch_s - throttled
