"""`tenantctl demo`: the pipelines end to end on a private local AWS, every step checked.

Starts the local AWS in this process on a free port, creates two tenants (one in each region
served), imports the sample files (one with invalid rows), and checks each job's status and
counts, the error report, the records in the tenant store and the trace. Then exports one tenant's
contacts and orders as CSV (checksums against the manifest, counts against what the imports stored)
and migrates that tenant to the other region through the migration workflow, showing that its data
is then read from there. Exits 0 only when every step did what it should.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenant_pipeline import topology
from tenant_pipeline.store.jobs import Job, JobStatus
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.topology import Resource
from tenantctl.commands.demo_checks import sayer
from tenantctl.commands.demo_export import export_step
from tenantctl.commands.demo_migration import migration_step
from tenantctl.commands.imports import upload, wait_for_import
from tenantctl.commands.jobs import describe_job, read_report
from tenantctl.commands.tenants import create_tenant
from tenantctl.errors import DemoStepFailedError
from tenantctl.output import print_json, print_lines, table
from tenantctl.target import Target
from tenantctl.trace_tree import build_tree, read_spans, render_tree

if TYPE_CHECKING:
    from tenantctl.local.stack import LocalAws

JOB_TIMEOUT_S = 120.0
MIGRATION_TIMEOUT_S = 180.0
QUIET_FUNCTIONS = {"POWERTOOLS_LOG_LEVEL": "WARNING"}
"""The demo shows its own steps; the functions' info logs would bury them (`local up` keeps them)."""
SPANS_TIMEOUT_S = 10.0
ROOT_SPAN = "data.import"
VALIDATE_SPAN = "data.import.validate"
BATCH_SPAN = "data.import.batch"


@dataclass(frozen=True)
class SampleImport:
    """A sample file and what its import must produce."""

    tenant_id: str
    entity_type: str
    file_name: str
    total_rows: int
    invalid: int
    status: JobStatus


TENANTS = (("acme", topology.DEFAULT_REGIONS[0]), ("globex", topology.DEFAULT_REGIONS[-1]))
SAMPLES = (
    SampleImport("acme", "contacts", "contacts.csv", total_rows=25, invalid=0, status=JobStatus.SUCCEEDED),
    SampleImport("acme", "orders", "orders.csv", total_rows=30, invalid=3, status=JobStatus.PARTIAL),
    SampleImport(
        "globex", "contacts", "contacts.jsonl", total_rows=12, invalid=0, status=JobStatus.SUCCEEDED
    ),
)
DEFAULT_EXPORT_DIR = Path("demo-export")
REPORT_LINES_SHOWN = 3
TRACE_SHOWN = 1
"""Index of the sample whose trace the demo draws (the one with invalid rows)."""
MOVED = TENANTS[0]
"""The tenant the demo exports, then migrates to the other tenant's region."""


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        parents=parents,
        help="run the import, export and migration pipelines end to end on a private local AWS",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_EXPORT_DIR,
        metavar="DIR",
        help=f"folder the demo's export is left in, to open afterwards (default: ./{DEFAULT_EXPORT_DIR})",
    )
    parser.set_defaults(handler=_demo)


def sample_path(file_name: str) -> Path:
    return Path(str(resources.files("tenantctl") / "samples" / file_name))


def _demo(args: argparse.Namespace) -> int:
    from tenantctl.local.stack import LocalAws, LocalAwsOptions  # loads moto: only when serving

    quiet: bool = args.json
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tenantctl-demo-") as state_dir:
        aws = LocalAws(
            LocalAwsOptions(port=0, state_dir=Path(state_dir), function_environment=QUIET_FUNCTIONS)
        )
        try:
            endpoint = aws.start()
            _say(quiet, f"local AWS ready at {endpoint} (regions {', '.join(aws.options.regions)})")
            target = Target(endpoint_url=endpoint, region=aws.primary_region)
            summary = _run(target, aws, quiet)
            summary.update(_export_and_migrate(target, aws, summary["jobs"], args.out, quiet))
        finally:
            aws.stop()
    summary["duration_s"] = round(time.monotonic() - began, 1)
    if quiet:
        print_json(summary)
    else:
        print(f"\ndemo: every step did what it should ({summary['duration_s']:.1f}s)")
        print_lines(next_steps(args.out))
    return 0


def next_steps(export_dir: Path) -> list[str]:
    """What a newcomer can try after the demo, on a local AWS of their own."""
    lines = ["", f"the export is in {export_dir}/ (CSV files and manifest.json): open it", "", "try next:"]
    steps = [
        ("tenantctl local up &", "a local AWS that keeps running"),
        ('eval "$(tenantctl local env)"', "any AWS client (and tenantctl) now talks to it"),
        ("tenantctl tenants create acme", ""),
        ("tenantctl entities show contacts", "the columns a contacts file needs"),
        (f"tenantctl import acme contacts {_shown_path(sample_path('contacts.csv'))} --wait", ""),
        ("tenantctl jobs acme", "then `tenantctl report JOB_ID`, `tenantctl trace JOB_ID`"),
        ("tenantctl rejects --since 1h", "uploads that could not become a job"),
        ("tenantctl local down", ""),
    ]
    if sys.prefix != sys.base_prefix:
        steps.insert(
            0, (f"source {_shown_path(Path(sys.prefix) / 'bin' / 'activate')}", "tenantctl on your PATH")
        )
    width = max(len(command) for command, note in steps if note)
    lines += [f"  {command.ljust(width)}  # {note}" if note else f"  {command}" for command, note in steps]
    return lines


def _shown_path(path: Path) -> str:
    """A path relative to the working folder when it is under it (shorter to copy)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _say(quiet: bool, *lines: str) -> None:
    if not quiet:
        print_lines(lines)


def _run(target: Target, aws: LocalAws, quiet: bool) -> dict[str, Any]:
    for tenant_id, region in TENANTS:
        tenant = create_tenant(target, tenant_id, region, topology.DEFAULT_MAX_INVALID_RATIO)
        _say(quiet, f"✓ tenant {tenant['tenant_id']} created, home region {tenant['home_region']}")
    jobs: list[dict[str, Any]] = []
    for sample in SAMPLES:
        sent = upload(target, sample.tenant_id, sample.entity_type, sample_path(sample.file_name))
        _say(quiet, f"  uploaded {sample.file_name} to {sent.source_uri}")
        job = wait_for_import(target, sent, JOB_TIMEOUT_S, show_progress=not quiet)
        _check_job(target, sample, job, sent.region)
        jobs.append({**job.to_dict(), "region": sent.region})
        _say(
            quiet,
            f"✓ {sample.tenant_id}/{sample.entity_type}: {job.status.value}, {job.stored} stored, "
            f"{job.invalid} invalid, error report checked, store holds {job.stored} (job {job.job_id})",
        )
    _say(quiet, "", *table(jobs, _JOB_COLUMNS))
    shown = jobs[TRACE_SHOWN]
    _say(quiet, "", *describe_job(shown))
    _say(quiet, *_report_excerpt(target, shown))
    if aws.spans_file is None:
        _say(quiet, "", "(spans go to the OTLP endpoint: look the trace ids up there)")
        return {"jobs": jobs, "spans": {}}
    traces = {str(job["job_id"]): _check_trace(aws.spans_file, job) for job in jobs}
    spans = traces[str(shown["job_id"])]
    _say(
        quiet,
        "",
        f"trace {shown['trace_id']} of job {shown['job_id']} ({len(spans)} spans)",
        *render_tree(build_tree(spans)),
    )
    _say(quiet, "✓ every job is one trace: the validator and every batch under the job's root span")
    return {"jobs": jobs, "spans": {job_id: len(spans) for job_id, spans in traces.items()}}


def _export_and_migrate(
    target: Target, aws: LocalAws, jobs: list[dict[str, Any]], export_dir: Path, quiet: bool
) -> dict[str, Any]:
    tenant_id, home = MOVED
    stored: dict[str, int] = defaultdict(int)
    for job in jobs:
        if job["tenant_id"] == tenant_id:
            stored[str(job["entity_type"])] += int(job["stored"])
    say = sayer(quiet)
    exported = export_step(
        target,
        tenant_id,
        stored,
        out_dir=export_dir,
        spans_file=aws.spans_file,
        timeout_s=JOB_TIMEOUT_S,
        say=say,
    )
    to_region = next(region for region in aws.options.regions if region != home)
    migrated = migration_step(
        target,
        tenant_id,
        to_region,
        stored,
        spans_file=aws.spans_file,
        timeout_s=MIGRATION_TIMEOUT_S,
        say=say,
    )
    return {"export": exported, "migration": migrated}


_JOB_COLUMNS = (
    ("job_id", "JOB"),
    ("tenant_id", "TENANT"),
    ("entity_type", "ENTITY"),
    ("status", "STATUS"),
    ("stored", "STORED"),
    ("total_rows", "TOTAL"),
    ("invalid", "INVALID"),
)


def _report_excerpt(target: Target, job: dict[str, Any]) -> list[str]:
    """The first lines of the job's error report, as `tenantctl report` shows them."""
    region = str(job["region"])
    rows = read_report(target, target.ledger(region).get(str(job["job_id"])), region)
    if not rows:
        return []
    shown = rows[:REPORT_LINES_SHOWN]
    columns = [(name, name.upper()) for name in shown[0]]
    return [
        "",
        f"error report of job {job['job_id']} (first {len(shown)} of {len(rows)} rows; "
        f"`tenantctl report {job['job_id']}` shows them all)",
        *table(shown, columns),
    ]


def _check_job(target: Target, sample: SampleImport, job: Job, region: str) -> None:
    label = f"{sample.tenant_id}/{sample.entity_type}"
    expected_stored = sample.total_rows - sample.invalid
    _expect(
        job.status is sample.status,
        f"{label}: job {job.job_id} is {job.status.value} "
        f"({job.error or 'no error'}), expected {sample.status.value}",
    )
    _expect(
        job.total_rows == sample.total_rows,
        f"{label}: {job.total_rows} rows read, expected {sample.total_rows}",
    )
    _expect(job.invalid == sample.invalid, f"{label}: {job.invalid} invalid rows, expected {sample.invalid}")
    _expect(job.stored == expected_stored, f"{label}: {job.stored} rows stored, expected {expected_stored}")
    _expect(not job.failed_batches, f"{label}: batches {list(job.failed_batches)} failed")
    rejected = {row.get("line") for row in read_report(target, job, region)}
    _expect(
        len(rejected) == sample.invalid,
        f"{label}: the error report names {len(rejected)} lines, expected {sample.invalid}",
    )
    store = TenantDataStore(target.name(Resource.TENANT_DATA_TABLE, region), target.clients(region).dynamodb)
    shard_count = target.find_tenant(sample.tenant_id).shard_count
    in_store = store.count_entity(sample.tenant_id, sample.entity_type, shard_count)
    _expect(
        in_store == expected_stored,
        f"{label}: the tenant store holds {in_store} records, expected {expected_stored}",
    )


def _check_trace(spans_file: Path, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's spans, once its root is written: the validator and every batch in one trace."""
    trace_id = str(job["trace_id"])
    deadline = time.monotonic() + SPANS_TIMEOUT_S
    while True:
        spans = read_spans(spans_file, trace_id) if spans_file.is_file() else []
        names = [str(span.get("name")) for span in spans]
        batches = names.count(BATCH_SPAN)
        complete = (
            ROOT_SPAN in names and VALIDATE_SPAN in names and batches >= (job.get("batches_total") or 0)
        )
        if complete or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    _expect(ROOT_SPAN in names, f"job {job['job_id']}: no {ROOT_SPAN} span in trace {trace_id}")
    _expect(VALIDATE_SPAN in names, f"job {job['job_id']}: no {VALIDATE_SPAN} span in trace {trace_id}")
    _expect(
        batches >= (job.get("batches_total") or 0),
        f"job {job['job_id']}: {batches} batch spans, expected {job.get('batches_total')}",
    )
    return spans


def _expect(condition: bool, failure: str) -> None:
    if not condition:
        raise DemoStepFailedError(failure)
