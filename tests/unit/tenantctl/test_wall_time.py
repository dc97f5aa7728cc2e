"""Splitting a wall time among overlapping activities by priority."""

from __future__ import annotations

import pytest

from tenantctl.wall_time import UNACCOUNTED, Activity, split_wall_time

S = 1_000_000_000
PRIORITY = ("writes", "fan-out", "queue wait")


def test_the_higher_priority_activity_takes_the_overlap() -> None:
    # Given batches queued from 0 to 10 s while one writes from 2 to 4 s
    activities = [Activity("queue wait", 0, 10 * S), Activity("writes", 2 * S, 4 * S)]

    split = split_wall_time(0, 10 * S, activities, PRIORITY).seconds

    assert split["writes"] == pytest.approx(2) and split["queue wait"] == pytest.approx(8)
    assert split[UNACCOUNTED] == 0


def test_time_nothing_covers_is_unaccounted_and_everything_adds_up() -> None:
    activities = [
        Activity("fan-out", 1 * S, 2 * S),
        Activity("writes", 5 * S, 7 * S),
        Activity("writes", 6 * S, 8 * S),
    ]

    split = split_wall_time(0, 10 * S, activities, PRIORITY).seconds

    assert split == pytest.approx({"writes": 3, "fan-out": 1, "queue wait": 0, UNACCOUNTED: 6})


def test_throttled_share_of_concurrent_writes_is_averaged() -> None:
    # Given two loaders writing at once, one throttled half its time, the other not at all
    activities = [Activity("writes", 0, 4 * S, 0.5), Activity("writes", 0, 4 * S, 0.0)]

    split = split_wall_time(0, 4 * S, activities, PRIORITY, throttled_label="throttled").seconds

    assert split["throttled"] == pytest.approx(1) and split["writes"] == pytest.approx(3)


def test_activities_are_clipped_to_the_wall_time_and_unknown_labels_ignored() -> None:
    activities = [
        Activity("writes", -5 * S, 1 * S),
        Activity("lunch", 0, 10 * S),
        Activity("queue wait", 9 * S, 20 * S),
    ]

    split = split_wall_time(0, 10 * S, activities, PRIORITY).seconds

    assert split == pytest.approx({"writes": 1, "fan-out": 0, "queue wait": 1, UNACCOUNTED: 8})
