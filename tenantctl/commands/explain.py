"""`tenantctl explain JOB_ID`: where a job's wall time went, from the jobs ledger alone."""

from __future__ import annotations

import argparse
from typing import Any

from tenant_pipeline.store.jobs import JobKind
from tenantctl.commands.jobs import locate_job
from tenantctl.errors import InvalidArgumentError, NoTimingsRecordedError
from tenantctl.job_explanation import NoTimingsError, explain_export, explain_import, render_explanation
from tenantctl.output import print_json, print_lines
from tenantctl.target import Target


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        parents=parents,
        help="where an import's or export's time went: phases, shares, rows/s, what bound it",
        description="Split the job's wall time into its phases (an import: read, parse and validate, "
        "fan-out, queue wait, writes, throttled retries, completion...; an export: query, serialise, "
        "upload), each with its share and rows/s, name the phase that bound the job and list its slowest "
        "batches or entities. Computed from the timings the pipeline keeps in the jobs ledger, so it needs "
        "no tracing backend.",
    )
    parser.add_argument("job_id", metavar="JOB_ID")
    parser.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    target: Target = args.target
    job, region = locate_job(target, args.job_id)
    if job.kind not in (JobKind.IMPORT, JobKind.EXPORT):
        raise InvalidArgumentError(
            f"job {job.job_id} is a {job.kind.value}: explain covers imports and exports"
        )
    phases, parts = target.ledger(region).timings(job.job_id)
    try:
        explanation = (
            explain_import(job, phases, parts) if job.kind is JobKind.IMPORT else explain_export(job, parts)
        )
    except NoTimingsError as exc:
        raise NoTimingsRecordedError(str(exc)) from None
    if args.json:
        print_json(explanation.to_dict())
    else:
        print_lines(render_explanation(explanation))
    return 0
