"""`tenantctl explain JOB_ID`: where a job's wall time went, from the jobs ledger alone."""

from __future__ import annotations

import argparse
from typing import Any

from tenantctl.commands.jobs import locate_job
from tenantctl.errors import NoTimingsRecordedError, UnknownJobError
from tenantctl.job_explanation import Explanation, NoTimingsError
from tenantctl.migrate_command import find_migration
from tenantctl.migration_explanation import MigrationExplanation
from tenantctl.output import print_json, print_lines
from tenantctl.recorded_explanation import explain_job, explain_recorded_migration, explanation_lines
from tenantctl.target import Target


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        parents=parents,
        help="where an import's, export's or migration's time went: phases, shares, rate, what bound it",
        description="Split the job's wall time into its phases (an import: read, parse, validate, "
        "fan-out, queue wait, writes, throttled retries, completion...; an export: query, serialise, "
        "upload; a migration: validate, freeze, snapshot, transfer, load, verify, cutover or rollback, "
        "and the transitions between them), each with its share and rows (items) per second, name the "
        "phase that bound the job and list its slowest batches, entities or load chunks. Computed from "
        "the timings the pipeline keeps in the jobs ledger, so it needs no tracing backend.",
    )
    parser.add_argument("job_id", metavar="JOB_ID", help="a job id, or a migration id")
    parser.add_argument(
        "--tenant",
        metavar="TENANT",
        help="the tenant of a migration whose id does not hold its whole tenant id (over 50 characters)",
    )
    parser.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    target: Target = args.target
    explanation: Explanation | MigrationExplanation
    try:
        job, region = locate_job(target, args.job_id)
    except UnknownJobError:
        found = find_migration(target, args.job_id, args.tenant)
        if found is None:
            raise
        explanation = explain_recorded_migration(target, *found)
    else:
        try:
            explanation = explain_job(target, job, region)
        except NoTimingsError as exc:
            raise NoTimingsRecordedError(str(exc)) from None
    if args.json:
        print_json(explanation.to_dict())
    else:
        print_lines(explanation_lines(explanation))
    return 0
