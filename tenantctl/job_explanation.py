"""Where an import's or an export's wall time went, from what the pipeline recorded in the jobs ledger (no
tracing needed): its phases with their shares, rows per second, the phase that bound it and its slowest
batches (an export: its entities)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenant_pipeline.export.timing import ExportEntityTiming
from tenant_pipeline.imports.timings import BatchTiming, ValidationTiming
from tenant_pipeline.store.jobs import Job
from tenantctl.trace_timing import human_duration
from tenantctl.wall_time import UNACCOUNTED, Activity, split_wall_time

START_UP = "start-up"
READ = "read"
PARSE = "parse"
VALIDATE = "validate"
REPORT = "report"
FANOUT = "fan-out"
QUEUE_WAIT = "queue wait"
LOADER_SET_UP = "loader set-up"
WRITES = "writes"
THROTTLED = "throttled retries"
COUNTING = "counting"
COMPLETION = "completion"
_PASS = "validation pass"
QUERY = "query"
SERIALISE = "serialise"
UPLOAD = "upload"
MANIFEST = "manifest and finish"
_ENTITY = "entity pass"
EXPORT_TIMELINE = (START_UP, QUERY, SERIALISE, UPLOAD, MANIFEST, UNACCOUNTED)

PRIORITY = (WRITES, LOADER_SET_UP, COUNTING, FANOUT, _PASS, REPORT, START_UP, COMPLETION, QUEUE_WAIT)
"""Who gets an instant when several things run: work in a loader first, waiting in the queue last, so
queue wait is time when batches waited and nothing else was done."""
TIMELINE = (
    START_UP,
    READ,
    PARSE,
    VALIDATE,
    REPORT,
    FANOUT,
    QUEUE_WAIT,
    LOADER_SET_UP,
    WRITES,
    THROTTLED,
    COUNTING,
    COMPLETION,
    UNACCOUNTED,
)
_WHAT = {
    START_UP: "receiving the upload's notification and creating the job",
    READ: "reading the file from S3",
    PARSE: "decompressing and parsing the file into rows",
    VALIDATE: "checking rows against the entity and keeping each one's outcome",
    REPORT: "writing the error report",
    FANOUT: "sending batch messages",
    QUEUE_WAIT: "batches waiting in the queue for a loader",
    LOADER_SET_UP: "loaders reading the job and claim checks",
    WRITES: "writing rows to DynamoDB",
    THROTTLED: "backing off from throttled writes",
    COUNTING: "counting batches in the ledger",
    COMPLETION: "finishing the job",
    UNACCOUNTED: "time no recorded step covers",
    QUERY: "querying the tenant's records in DynamoDB",
    SERIALISE: "serialising records",
    UPLOAD: "uploading files to S3",
    MANIFEST: "writing the manifest and finishing the job",
}
SLOWEST_SHOWN = 5


class NoTimingsError(ValueError):
    """The ledger holds no timings for the job (an older job, or a kind not explained yet)."""


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    share: float
    rows_per_second: float | None


@dataclass(frozen=True)
class Explanation:
    job_id: str
    wall_seconds: float
    rows: int
    phases: list[Phase]
    binding: str
    slowest_batches: list[BatchTiming]
    batches_recorded: int
    entities: list[ExportEntityTiming] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "wall_seconds": self.wall_seconds,
            "rows": self.rows,
            "rows_per_second": self.rows_per_second,
            "phases": [phase.__dict__ for phase in self.phases],
            "binding": self.binding,
            "batches_recorded": self.batches_recorded,
            "slowest_batches": [
                {
                    "batch_number": batch.batch_number,
                    "rows": batch.rows,
                    "seconds": (batch.ended_ns - batch.started_ns) / 1e9,
                    "queue_wait_seconds": batch.queue_wait_s,
                    "write_seconds": batch.write_s,
                    "throttled_retries": batch.throttled_retries,
                    "throttled_seconds": batch.throttled_s,
                    "receive_count": batch.receive_count,
                }
                for batch in self.slowest_batches
            ],
            "entities": [
                {**entity.to_dict(), "seconds": (entity.ended_ns - entity.started_ns) / 1e9}
                for entity in self.entities
            ],
        }


def explain_import(
    job: Job, phase_timings: Mapping[str, Any], batch_records: Sequence[Mapping[str, Any]]
) -> Explanation:
    """The explanation of a finished (or running: up to now) import from its ledger records."""
    if "validation" not in phase_timings:
        raise NoTimingsError(f"job {job.job_id} has no recorded timings (jobs started before they were kept)")
    validation = ValidationTiming.from_dict(phase_timings["validation"])
    batches = [BatchTiming.from_dict(record) for record in batch_records]
    start_ns = job.started_ns or iso_ns(job.started_at)
    last_ns = max([validation.fanout_ended_ns, *(batch.ended_ns for batch in batches)])
    end_ns = iso_ns(job.finished_at) if job.finished_at else last_ns
    end_ns = max(end_ns, start_ns)
    split = split_wall_time(
        start_ns,
        end_ns,
        _activities(start_ns, end_ns, validation, batches),
        PRIORITY,
        throttled_label=THROTTLED,
    )
    seconds = _with_pass_split(split.seconds, validation)
    wall_s = (end_ns - start_ns) / 1e9
    rows_read, stored = job.total_rows or 0, job.stored
    phases = [
        Phase(
            name,
            seconds[name],
            seconds[name] / wall_s if wall_s > 0 else 0.0,
            _rate(name, seconds[name], rows_read, stored),
        )
        for name in TIMELINE
    ]
    slowest = sorted(batches, key=lambda batch: batch.ended_ns - batch.started_ns, reverse=True)[
        :SLOWEST_SHOWN
    ]
    return Explanation(job.job_id, wall_s, rows_read, phases, _binding(phases, wall_s), slowest, len(batches))


def explain_export(job: Job, part_records: Sequence[Mapping[str, Any]]) -> Explanation:
    """An export's explanation: its entities run one after another (across invocations when it continues);
    each one's time is split into querying, serialising and uploading by what was measured."""
    if not part_records:
        raise NoTimingsError(f"job {job.job_id} has no recorded timings (jobs started before they were kept)")
    entities = sorted((ExportEntityTiming.from_dict(r) for r in part_records), key=lambda e: e.started_ns)
    start_ns = job.started_ns or iso_ns(job.started_at)
    last_ns = max(entity.ended_ns for entity in entities)
    end_ns = max(iso_ns(job.finished_at) if job.finished_at else last_ns, start_ns)
    activities = [Activity(START_UP, start_ns, entities[0].started_ns), Activity(MANIFEST, last_ns, end_ns)]
    activities += [Activity(_ENTITY, entity.started_ns, entity.ended_ns) for entity in entities]
    split = split_wall_time(start_ns, end_ns, activities, (_ENTITY, START_UP, MANIFEST))
    seconds = dict(split.seconds)
    entity_s = seconds.pop(_ENTITY)
    measured = sum((entity.ended_ns - entity.started_ns) / 1e9 for entity in entities)
    shares = (
        (sum(e.read_s for e in entities) / measured, sum(e.upload_s for e in entities) / measured)
        if measured > 0
        else (0.0, 0.0)
    )
    seconds[QUERY], seconds[UPLOAD] = entity_s * shares[0], entity_s * shares[1]
    seconds[SERIALISE] = max(0.0, entity_s - seconds[QUERY] - seconds[UPLOAD])
    wall_s = (end_ns - start_ns) / 1e9
    records = job.total_rows or 0
    rated = {QUERY, SERIALISE, UPLOAD}
    phases = [
        Phase(
            name,
            seconds[name],
            seconds[name] / wall_s if wall_s > 0 else 0.0,
            records / seconds[name] if name in rated and seconds[name] > 0 else None,
        )
        for name in EXPORT_TIMELINE
    ]
    return Explanation(job.job_id, wall_s, records, phases, _binding(phases, wall_s), [], 0, entities)


def _activities(
    start_ns: int, end_ns: int, validation: ValidationTiming, batches: Sequence[BatchTiming]
) -> list[Activity]:
    activities = [
        Activity(START_UP, start_ns, validation.started_ns),
        Activity(_PASS, validation.started_ns, validation.pass_ended_ns),
        Activity(REPORT, validation.pass_ended_ns, validation.fanout_started_ns),
        Activity(FANOUT, validation.fanout_started_ns, validation.fanout_ended_ns),
    ]
    for batch in batches:
        if batch.sent_ns is not None:
            activities.append(Activity(QUEUE_WAIT, batch.sent_ns, batch.started_ns))
        throttled = min(1.0, batch.throttled_s / batch.write_s) if batch.write_s > 0 else 0.0
        activities += [
            Activity(LOADER_SET_UP, batch.started_ns, batch.write_started_ns),
            Activity(WRITES, batch.write_started_ns, batch.write_ended_ns, throttled),
            Activity(COUNTING, batch.write_ended_ns, batch.ended_ns),
        ]
    last_counted = max([validation.fanout_ended_ns, *(batch.ended_ns for batch in batches)])
    activities.append(Activity(COMPLETION, last_counted, end_ns))
    return activities


def _with_pass_split(seconds: Mapping[str, float], validation: ValidationTiming) -> dict[str, float]:
    """The validation pass reads, parses and checks in one stream: its time is split by the measured
    shares of waiting for bytes and of checking rows; parsing is the rest."""
    result = dict(seconds)
    pass_s = result.pop(_PASS)
    measured = (validation.pass_ended_ns - validation.started_ns) / 1e9
    read_share = min(1.0, validation.read_s / measured) if measured > 0 else 0.0
    check_share = min(1.0 - read_share, validation.check_s / measured) if measured > 0 else 0.0
    result[READ] = pass_s * read_share
    result[VALIDATE] = pass_s * check_share
    result[PARSE] = pass_s - result[READ] - result[VALIDATE]
    return result


def _rate(name: str, seconds: float, rows_read: int, stored: int) -> float | None:
    rows = {READ: rows_read, PARSE: rows_read, VALIDATE: rows_read, FANOUT: stored, WRITES: stored}.get(name)
    if rows is None or seconds <= 0:
        return None
    return rows / seconds


def _binding(phases: Sequence[Phase], wall_s: float) -> str:
    return binding_sentence(phases, wall_s, _WHAT)


def binding_sentence(
    phases: Sequence[Phase], wall_s: float, what: Mapping[str, str], *, subject: str = "job"
) -> str:
    """One sentence naming the longest phase (what it is: `what[name]`) and the runner-up."""
    ranked = sorted(
        (phase for phase in phases if phase.name != UNACCOUNTED),
        key=lambda phase: phase.seconds,
        reverse=True,
    )
    top = ranked[0]
    sentence = (
        f"The {subject} was bound by {top.name} ({what[top.name]}): "
        f"{top.share:.0%} of its {seconds_text(wall_s)} wall time"
    )
    if len(ranked) > 1 and ranked[1].share >= 0.01:  # a runner-up under 1% tells nothing
        sentence += f"; next came {ranked[1].name} at {ranked[1].share:.0%}"
    return sentence + "."


def render_explanation(explanation: Explanation) -> list[str]:
    """The human form: a phase table, the binding sentence, the slowest batches."""
    lines = [
        f"job {explanation.job_id}: {explanation.rows:,} rows in {seconds_text(explanation.wall_seconds)}"
        f" ({explanation.rows_per_second:,.0f} rows/s)",
        "",
    ]
    shown = [p for p in explanation.phases if not (p.seconds <= 0 and p.name == UNACCOUNTED)]
    lines += phase_table(shown, "rows/s")
    lines += ["", explanation.binding]
    if explanation.entities:
        lines += ["", "entities, slowest first:"]
        for entity in sorted(explanation.entities, key=lambda e: e.started_ns - e.ended_ns):
            lines.append(
                f"  {entity.entity:<16} {entity.records:>9,} records"
                f"  {seconds_text((entity.ended_ns - entity.started_ns) / 1e9):>10}"
                f"  ({seconds_text(entity.read_s)} querying, {seconds_text(entity.upload_s)} uploading)"
            )
    if explanation.slowest_batches:
        lines += ["", f"slowest batches (of {explanation.batches_recorded}):"]
        for batch in explanation.slowest_batches:
            wait = (
                f"{human_duration(batch.queue_wait_s * 1000)} queued, "
                if batch.queue_wait_s is not None
                else ""
            )
            lines.append(
                f"  batch {batch.batch_number:>6}"
                f"  {seconds_text((batch.ended_ns - batch.started_ns) / 1e9):>10}"
                f"  ({wait}{seconds_text(batch.write_s)} writing, "
                f"{batch.throttled_retries} throttled retries, {seconds_text(batch.throttled_s)})"
            )
    return lines


def phase_table(phases: Sequence[Phase], rate_unit: str) -> list[str]:
    """A header and one line per phase: its time, its share of the wall time (and a bar), its rate."""
    lines = [f"{'phase':<20} {'time':>10} {'share':>6}  {rate_unit:>10}"]
    for phase in phases:
        rate = f"{phase.rows_per_second:,.0f}" if phase.rows_per_second is not None else ""
        bar = "█" * round(phase.share * 20)
        lines.append(
            f"{phase.name:<20} {seconds_text(phase.seconds):>10} {phase.share:>6.1%}  {rate:>10}  {bar}"
        )
    return lines


def iso_ns(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)


def seconds_text(seconds: float) -> str:
    return human_duration(seconds * 1000)
