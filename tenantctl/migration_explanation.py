"""Where a migration's wall time went, from its record in the jobs ledger and its chunk timings: each phase
the state machine ran, the time between them (Step Functions moving from state to state, invoking the
function, waiting out retries), items per second, the phase that bound it and the slowest load chunks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.migration.chunk_timing import ChunkTiming
from tenant_pipeline.migration.ledger import MigrationRecord
from tenantctl.job_explanation import (
    SLOWEST_SHOWN,
    Phase,
    binding_sentence,
    iso_ns,
    phase_table,
    seconds_text,
)
from tenantctl.wall_time import UNACCOUNTED, Activity, split_wall_time

LOAD = "load"
COMPLETION = "completion"
TRANSITIONS = "transitions"
STEPS = ("validate", "freeze", "snapshot", "transfer", LOAD, "verify", "cutover", "rollback")
_ENDING = ("cutover", "rollback")
"""The phases after which the migration records its outcome (`completion`)."""
_WHAT = {
    "validate": "starting the execution, checking the request and opening the migration's record",
    "freeze": "setting the tenant to migrating in every region",
    "snapshot": "reading the tenant's items into S3 chunks",
    "transfer": "copying the snapshot to the target region",
    LOAD: "writing the snapshot's chunks into the target table",
    "verify": "reading the target back and comparing counts and checksums",
    "cutover": "pointing the directories at the new home",
    "rollback": "removing the partial copy and thawing the tenant",
    COMPLETION: "recording the outcome and ending the trace",
    TRANSITIONS: "Step Functions moving between states, invoking the function, waiting out retries",
}


@dataclass(frozen=True)
class MigrationExplanation:
    migration_id: str
    tenant_id: str
    status: str
    wall_seconds: float
    items: int
    phases: list[Phase]
    binding: str
    slowest_chunks: list[ChunkTiming]
    chunks_recorded: int

    @property
    def items_per_second(self) -> float:
        return self.items / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.migration_id,
            "kind": "migration",
            "tenant_id": self.tenant_id,
            "status": self.status,
            "wall_seconds": self.wall_seconds,
            "items": self.items,
            "items_per_second": self.items_per_second,
            "phases": [
                {
                    "name": phase.name,
                    "seconds": phase.seconds,
                    "share": phase.share,
                    "items_per_second": phase.rows_per_second,
                }
                for phase in self.phases
            ],
            "binding": self.binding,
            "chunks_recorded": self.chunks_recorded,
            "slowest_chunks": [
                {**chunk.to_dict(), "seconds": chunk.seconds, "write_seconds": chunk.write_s}
                for chunk in self.slowest_chunks
            ],
        }


def explain_migration(
    record: MigrationRecord, chunk_records: Sequence[Mapping[str, Any]], *, now_ns: int
) -> MigrationExplanation:
    """The explanation of a finished migration (a running one: up to `now_ns`) from its ledger records."""
    recorded = record.phases()
    chunks = [ChunkTiming.from_dict(entry) for entry in chunk_records]
    start_ns = iso_ns(record.started_at)
    finished = record.get("finished_at")
    end_ns = max(iso_ns(finished) if isinstance(finished, str) else now_ns, start_ns)
    activities = _activities(record, recorded, chunks, start_ns, end_ns)
    labels = [name for name in (*STEPS, COMPLETION) if name in recorded or name == COMPLETION]
    seconds = split_wall_time(start_ns, end_ns, activities, labels).seconds
    seconds[TRANSITIONS] = seconds.pop(UNACCOUNTED)
    wall_s = (end_ns - start_ns) / 1e9
    items = int(record.get("record_count") or 0)
    phases = [
        Phase(
            name,
            seconds[name],
            seconds[name] / wall_s if wall_s > 0 else 0.0,
            _rate(name, seconds[name], record),
        )
        for name in (*labels, TRANSITIONS)
    ]
    slowest = sorted(chunks, key=lambda chunk: chunk.seconds, reverse=True)[:SLOWEST_SHOWN]
    return MigrationExplanation(
        migration_id=record.migration_id,
        tenant_id=record.tenant_id,
        status=record.status.value,
        wall_seconds=wall_s,
        items=items,
        phases=phases,
        binding=binding_sentence(phases, wall_s, _WHAT, subject="migration"),
        slowest_chunks=slowest,
        chunks_recorded=len(chunks),
    )


def _activities(
    record: MigrationRecord,
    recorded: Mapping[str, Mapping[str, Any]],
    chunks: Sequence[ChunkTiming],
    start_ns: int,
    end_ns: int,
) -> list[Activity]:
    activities: list[Activity] = []
    for name, entry in recorded.items():
        if name == LOAD:
            continue
        began, ended = entry.get("started_at"), entry.get("finished_at")
        if isinstance(ended, str):
            # The first task's own start is the execution's: validate covers the wait for it too.
            first = start_ns if name == "validate" or not isinstance(began, str) else iso_ns(began)
            last = iso_ns(ended)
            if "legs" in entry:
                # A phase run in legs worked for their sum: the time between legs is the state machine's.
                last = min(last, first + int(float(entry.get("duration_s", 0)) * 1e9))
            activities.append(Activity(name, first, last))
    if chunks:
        activities += [Activity(LOAD, chunk.started_ns, chunk.ended_ns) for chunk in chunks]
    elif record.get("load_first_start") is not None and record.get("load_last_end") is not None:
        # Recorded before chunk timings were kept: the load's first start to its last end.
        first_s, last_s = float(record.get("load_first_start")), float(record.get("load_last_end"))
        activities.append(Activity(LOAD, int(first_s * 1e9), int(last_s * 1e9)))
    ending = [a.end_ns for a in activities if a.label in _ENDING]
    if ending and record.get("finished_at"):
        activities.append(Activity(COMPLETION, max(ending), end_ns))
    return activities


def _rate(name: str, seconds: float, record: MigrationRecord) -> float | None:
    items = {
        "snapshot": record.get("record_count"),
        "transfer": record.get("record_count"),
        LOAD: record.get("load_records"),
        "verify": record.get("target_record_count"),
    }.get(name)
    if not items or seconds <= 0:
        return None
    return int(items) / seconds


def render_migration_explanation(explanation: MigrationExplanation) -> list[str]:
    """The human form: a phase table, the binding sentence, the slowest load chunks."""
    lines = [
        f"migration {explanation.migration_id} ({explanation.status}): {explanation.items:,} items in "
        f"{seconds_text(explanation.wall_seconds)} ({explanation.items_per_second:,.0f} items/s)",
        "",
    ]
    lines += phase_table(explanation.phases, "items/s")
    lines += ["", explanation.binding]
    if explanation.slowest_chunks:
        lines += ["", f"slowest load chunks (of {explanation.chunks_recorded}):"]
        for chunk in explanation.slowest_chunks:
            lines.append(
                f"  chunk {chunk.chunk:>6}  {chunk.records:>7,} items  {seconds_text(chunk.seconds):>10}"
                f"  ({seconds_text(chunk.read_s)} reading, {seconds_text(chunk.write_s)} writing, "
                f"{chunk.throttled_retries} throttled retries, {seconds_text(chunk.throttled_s)})"
            )
    return lines
