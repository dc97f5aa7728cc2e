"""`tenantctl trace JOB_ID` (or `--trace-id ID`, to follow a link): a trace drawn from the local span file."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tenant_pipeline.migration.ledger import MigrationRecord
from tenant_pipeline.store.jobs import Job
from tenantctl.commands.jobs import locate_job
from tenantctl.errors import InvalidArgumentError, NoSpansError, UnknownJobError
from tenantctl.job_explanation import NoTimingsError
from tenantctl.local.defaults import (
    DEFAULT_STATE_DIR,
    SPANS_FILE_NAME,
    SPANS_FILE_PARAMETER,
    TELEMETRY_JSONL_ENV,
)
from tenantctl.migrate_command import find_migration
from tenantctl.output import print_json, print_lines
from tenantctl.recorded_explanation import (
    EXPLAINED_KINDS,
    explain_job,
    explain_recorded_migration,
    explanation_lines,
)
from tenantctl.target import Target, read_parameter
from tenantctl.trace_html import render_html
from tenantctl.trace_tree import MAX_LINES, build_tree, fit_screen, read_spans, render_tree


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "trace",
        parents=parents,
        help="draw a job's trace (local span file)",
        description="Draw the job's trace as a tree: start offsets from the first span, durations, span "
        "links, repeated siblings collapsed into one line (count, min, median, max, total) and the gaps no "
        f"span covers; at most {MAX_LINES} lines unless --all. Spans are read from "
        "--spans-file, else $TENANT_TELEMETRY_JSONL_PATH, else the file the local AWS publishes, else "
        f"./{DEFAULT_STATE_DIR}/{SPANS_FILE_NAME} (the local AWS writes it whether or not an OTLP endpoint "
        "is set). Against AWS, look the trace id up in your tracing backend.",
    )
    parser.add_argument(
        "job_id", metavar="JOB_ID", nargs="?", help="the job (or migration) whose trace to draw"
    )
    parser.add_argument("--trace-id", help="draw this trace instead (the id a span link names)")
    parser.add_argument("--all", action="store_true", help="draw every span and every gap")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="write the trace as a self-contained HTML waterfall (with the job's explanation) to FILE",
    )
    parser.add_argument("--spans-file", type=Path, help="JSON-lines span file to read (default: see above)")
    parser.set_defaults(handler=_trace)


def spans_file(target: Target, explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from_env = os.environ.get(TELEMETRY_JSONL_ENV)
    if from_env:
        return Path(from_env)
    if target.endpoint_url:
        try:
            published = read_parameter(target.clients().ssm, SPANS_FILE_PARAMETER)
        except (BotoCoreError, ClientError):
            published = None
        if published:
            return Path(published)
    return DEFAULT_STATE_DIR / SPANS_FILE_NAME


def _trace(args: argparse.Namespace) -> int:
    target: Target = args.target
    subject, trace_id = _wanted_trace(target, args.job_id, args.trace_id)
    spans = read_spans(spans_file(target, args.spans_file), trace_id)
    if args.html is not None:
        title = f"trace {trace_id}" + (f" of {subject.title}" if subject else "")
        page = render_html(build_tree(spans), title=title, explanation=_explanation(target, subject))
        args.html.write_text(page, encoding="utf-8")
        print(f"wrote {args.html} ({len(spans)} spans)")
        return 0
    if args.json:
        job_id = subject.job_id if subject else None
        print_json({"job_id": job_id, "trace_id": trace_id, "spans": spans})
        return 0
    print(f"trace {trace_id}  ({len(spans)} spans)")
    lines = render_tree(build_tree(spans), expand_all=args.all)
    print_lines(lines if args.all else fit_screen(lines, MAX_LINES - 1))
    return 0


@dataclass(frozen=True)
class _Traced:
    """The job or the migration whose trace is drawn, and the region whose ledger keeps it."""

    record: Job | MigrationRecord
    region: str

    @property
    def job_id(self) -> str:
        return self.record.job_id if isinstance(self.record, Job) else self.record.migration_id

    @property
    def title(self) -> str:
        return f"job {self.job_id}" if isinstance(self.record, Job) else f"migration {self.job_id}"


def _explanation(target: Target, subject: _Traced | None) -> list[str]:
    """The explanation's lines for a job or migration whose timings were recorded, else none."""
    if subject is None:
        return []
    if isinstance(subject.record, MigrationRecord):
        return explanation_lines(explain_recorded_migration(target, subject.record, subject.region))
    if subject.record.kind not in EXPLAINED_KINDS:
        return []
    try:
        return explanation_lines(explain_job(target, subject.record, subject.region))
    except NoTimingsError:
        return []


def _wanted_trace(target: Target, job_id: str | None, trace_id: str | None) -> tuple[_Traced | None, str]:
    """(the job or migration, or None; its trace id): exactly one of the two is on the command line."""
    if (job_id is None) == (trace_id is None):
        raise InvalidArgumentError("give a JOB_ID or --trace-id ID (one of the two)")
    if trace_id is not None:
        return None, trace_id.lower()
    try:
        job, region = locate_job(target, str(job_id))
    except UnknownJobError:
        migration = find_migration(target, str(job_id))
        if migration is None or not migration[0].get("trace_id"):
            raise
        return _Traced(*migration), str(migration[0].get("trace_id"))
    if not job.trace_id:
        raise NoSpansError(f"job {job.job_id} has no trace id")
    return _Traced(job, region), job.trace_id
