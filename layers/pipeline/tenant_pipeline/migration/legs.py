"""Legs: snapshot, transfer and verify each run as a loop of invocations, so no phase meets Lambda's
900 s, whatever the tenant's size.

A leg works until its budget runs out (the invocation's remaining time less a reserve, or a number of
steps when the settings cap them), then returns a small cursor that the state machine's Choice loop
hands to the next leg. Every cursor starts with the phase's `LegProgress`: which leg runs next, when
the first began, the time spent in legs so far (a phase's time is the sum of its legs) and the phase's
span, which the first leg allocates and the last one emits. Cursors never carry lists: what a leg
produced goes to S3.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tenant_pipeline.migration.checksum import EMPTY_SUM
from tenant_pipeline.migration.errors import InvalidMigrationRequestError


@dataclass
class LegBudget:
    """When a leg stops: checked after each step, so every leg makes progress."""

    remaining_ms: Callable[[], int]
    """The invocation's time left (the Lambda context's `get_remaining_time_in_millis`)."""
    reserve_ms: int
    max_steps: int | None = None
    steps: int = 0

    def step(self) -> None:
        self.steps += 1

    @property
    def exhausted(self) -> bool:
        if self.max_steps is not None and self.steps >= self.max_steps:
            return True
        return self.remaining_ms() < self.reserve_ms


@dataclass(frozen=True)
class LegProgress:
    """A legged phase's progress, at the start of its next leg."""

    leg: int = 0
    started_ns: int = 0
    """When the phase's first leg began (0 before it)."""
    seconds: float = 0.0
    """Time spent in the legs so far."""
    span: Mapping[str, Any] = field(default_factory=dict)
    """The phase span's `JobTrace.to_dict()` (empty before the first leg)."""

    def to_dict(self) -> dict[str, Any]:
        # Strings: state machine JSON numbers may be doubles, which cannot hold nanoseconds exactly.
        return {
            "leg": self.leg,
            "started_ns": str(self.started_ns),
            "seconds": self.seconds,
            "span": json.dumps(dict(self.span), sort_keys=True) if self.span else "",
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LegProgress:
        span = data.get("span") or ""
        return cls(
            leg=int(data.get("leg", 0)),
            started_ns=int(data.get("started_ns", 0)),
            seconds=float(data.get("seconds", 0.0)),
            span=json.loads(span) if span else {},
        )


def cursor_fields(cursor: Any) -> tuple[LegProgress, Mapping[str, Any]]:
    """The progress and the phase's own fields of a cursor as a task hands it over (`{}` at first)."""
    if cursor is None:
        return LegProgress(), {}
    if not isinstance(cursor, Mapping):
        raise InvalidMigrationRequestError(f"a leg's cursor must be an object, got {cursor!r}")
    try:
        return LegProgress.from_dict(cursor.get("progress") or {}), cursor
    except (TypeError, ValueError) as exc:
        raise InvalidMigrationRequestError(f"a leg's cursor is malformed: {exc}") from None


@dataclass(frozen=True)
class ReadCursor:
    """Where a leg reading the tenant's partitions goes on, and the count and checksum read so far."""

    progress: LegProgress = field(default_factory=LegProgress)
    partition: int = 0
    """Index of the partition (`TenantItems.partitions`) the next leg reads first."""
    after: Mapping[str, Any] | None = None
    """In that partition, the key the next leg's Query starts after (None: from its start)."""
    count: int = 0
    checksum: str = EMPTY_SUM

    def to_dict(self) -> dict[str, Any]:
        return {
            "progress": self.progress.to_dict(),
            "partition": self.partition,
            "after": dict(self.after) if self.after else None,
            "count": self.count,
            "checksum": self.checksum,
        }

    @staticmethod
    def read_fields(cursor: Any) -> tuple[dict[str, Any], Mapping[str, Any]]:
        """This class's fields from a cursor a task hands over, and the cursor's own fields."""
        progress, data = cursor_fields(cursor)
        fields = {
            "progress": progress,
            "partition": int(data.get("partition", 0)),
            "after": data.get("after") or None,
            "count": int(data.get("count", 0)),
            "checksum": str(data.get("checksum", EMPTY_SUM)),
        }
        return fields, data
