"""Durations as people type them on the command line: `90s`, `15m`, `1h`, `7d`."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)([smhd])$")


def duration(text: str) -> timedelta:
    """argparse type: `1h` -> one hour."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 1h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def iso_ago(span: timedelta, now: datetime | None = None) -> str:
    """The ISO time `span` before now, in the format the stores use (milliseconds, `Z`)."""
    moment = (now or datetime.now(UTC)) - span
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
