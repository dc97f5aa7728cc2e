"""`tenantctl jobs TENANT`, `tenantctl job JOB_ID`, `tenantctl report JOB_ID`."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from tenant_pipeline import topology
from tenant_pipeline.errors import UnknownJobError
from tenant_pipeline.store.jobs import Job, JobStatus
from tenantctl.errors import NotProvisionedError
from tenantctl.errors import UnknownJobError as UnknownJobIdError
from tenantctl.output import key_values, print_json, print_lines, table
from tenantctl.progress import bar
from tenantctl.target import Target

_JOB_COLUMNS = (
    ("job_id", "JOB"),
    ("kind", "KIND"),
    ("entity_type", "ENTITY"),
    ("status", "STATUS"),
    ("stored", "STORED"),
    ("total_rows", "TOTAL"),
    ("invalid", "INVALID"),
    ("started_at", "STARTED"),
)
_JOB_FIELDS = (
    "job_id",
    "tenant_id",
    "kind",
    "entity_type",
    "status",
    "total_rows",
    "stored",
    "invalid",
    "failed_batches",
    "error",
    "source_uri",
    "report_uri",
    "trace_id",
    "started_at",
    "finished_at",
)
REPORT_ROWS_SHOWN = 50


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    listing = subparsers.add_parser("jobs", parents=parents, help="a tenant's jobs, newest first")
    listing.add_argument("tenant_id", metavar="TENANT")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    listing.set_defaults(handler=_jobs)

    show = subparsers.add_parser("job", parents=parents, help="one job: status, counts, trace id")
    show.add_argument("job_id", metavar="JOB_ID")
    show.set_defaults(handler=_job)

    report = subparsers.add_parser(
        "report", parents=parents, help="why rows (or the whole file) were rejected"
    )
    report.add_argument("job_id", metavar="JOB_ID")
    report.set_defaults(handler=_report)


def locate_job(target: Target, job_id: str) -> tuple[Job, str]:
    """The job and its region: the targeted region first, then the other regions served."""
    regions = [target.region, *(region for region in topology.DEFAULT_REGIONS if region != target.region)]
    for region in regions:
        try:
            return target.ledger(region).get(job_id), region
        except (UnknownJobError, NotProvisionedError):
            if region == target.region:
                target.names(region)  # nothing published where we aim: say so rather than "unknown job"
            continue
    raise UnknownJobIdError(f"unknown job {job_id!r}")


def describe_job(job: Mapping[str, Any]) -> list[str]:
    lines = key_values(job, _JOB_FIELDS)
    if job.get("kind") == "import" and job.get("total_rows"):
        width = max(len(key) for key in _JOB_FIELDS)
        lines.append(f"{'progress'.ljust(width)}  {bar(job['stored'], job['total_rows'])}")
    return lines


def read_report(target: Target, job: Job, region: str) -> list[dict[str, str]]:
    """The rows of the job's error report (`errors.csv`), or none when it has no report."""
    if not job.report_uri:
        return []
    location = urlparse(job.report_uri)
    body = target.clients(region).s3.get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))["Body"]
    text = body.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _jobs(args: argparse.Namespace) -> int:
    target: Target = args.target
    tenant = target.find_tenant(args.tenant_id)
    regions = dict.fromkeys([tenant.home_region, target.region])
    found: dict[str, dict[str, Any]] = {}
    for region in regions:
        ledger = target.ledger(region)
        for job in ledger.list_for_tenant(args.tenant_id, limit=args.limit):
            # A listing holds counts as of a job's end; a running job's live counts are summed on read.
            live = ledger.get(job.job_id) if job.status is JobStatus.RUNNING else job
            found.setdefault(job.job_id, live.to_dict())
    jobs = sorted(found.values(), key=lambda job: str(job.get("started_at") or ""), reverse=True)[
        : args.limit
    ]
    if args.json:
        print_json(jobs)
    elif jobs:
        print_lines(table(jobs, _JOB_COLUMNS))
    else:
        print(f"no jobs for {args.tenant_id} yet")
    return 0


def _job(args: argparse.Namespace) -> int:
    job, _ = locate_job(args.target, args.job_id)
    if args.json:
        print_json(job.to_dict())
    else:
        print_lines(describe_job(job.to_dict()))
    return 0


def _report(args: argparse.Namespace) -> int:
    job, region = locate_job(args.target, args.job_id)
    rows = read_report(args.target, job, region)
    if args.json:
        print_json(
            {
                "job_id": job.job_id,
                "status": job.status.value,
                "error": job.error,
                "invalid": job.invalid,
                "report_uri": job.report_uri,
                "rows": rows,
            }
        )
        return 0
    print(f"job {job.job_id}: {job.status.value}")
    if job.error:
        print(f"file rejected: {job.error}")
    if rows:
        columns = [(name, name.upper()) for name in rows[0]]
        print_lines(table(rows[:REPORT_ROWS_SHOWN], columns))
        if len(rows) > REPORT_ROWS_SHOWN:
            print(f"... {len(rows) - REPORT_ROWS_SHOWN} more rows in {job.report_uri}")
    elif not job.error:
        print("no rejected rows")
    return 0
