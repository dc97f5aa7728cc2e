"""`tenantctl rejects [--since 1h]`: uploads under `tenants/` that could not become a job, and why.

An operator's command: the records name keys of any tenant (or of none), so no tenant-scoped command
shows them.
"""

from __future__ import annotations

import argparse
from typing import Any

from tenant_pipeline.store.rejects import RejectedUpload, RejectsLog
from tenant_pipeline.topology import Resource
from tenantctl.durations import duration, iso_ago
from tenantctl.output import print_json, print_lines, table
from tenantctl.target import Target

_COLUMNS = (("recorded_at", "RECORDED"), ("region", "REGION"), ("uri", "UPLOAD"), ("reason", "REASON"))


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rejects",
        parents=parents,
        help="uploads that could not become a job (operator)",
        description="List uploads under tenants/ that no job accounts for (unknown or deleted tenant, wrong "
        "folder, a key naming no tenant), newest first, from every region served.",
    )
    parser.add_argument(
        "--since",
        type=duration,
        metavar="DURATION",
        help="only those recorded in this last span, e.g. 90s, 15m, 1h, 7d (default: all)",
    )
    parser.set_defaults(handler=_rejects)


def rejects_log(target: Target, region: str) -> RejectsLog:
    return RejectsLog(target.name(Resource.JOBS_TABLE, region), target.clients(region).dynamodb)


def list_rejects(target: Target, since: str | None = None) -> list[tuple[str, RejectedUpload]]:
    """(region, record) for every region served, newest first."""
    found = [
        (region, rejected)
        for region in target.served_regions()
        for rejected in rejects_log(target, region).list(since)
    ]
    return sorted(found, key=lambda pair: pair[1].recorded_at, reverse=True)


def _rejects(args: argparse.Namespace) -> int:
    since = iso_ago(args.since) if args.since is not None else None
    rows = [{**rejected.to_dict(), "region": region} for region, rejected in list_rejects(args.target, since)]
    if args.json:
        print_json(rows)
    elif rows:
        print_lines(table(rows, _COLUMNS))
    else:
        print("no rejected uploads" + (f" since {since}" if since else ""))
    return 0
