"""`tenantctl trace JOB_ID`: the job's trace, drawn from the local span file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tenantctl.commands.jobs import locate_job
from tenantctl.errors import NoSpansError
from tenantctl.local.defaults import (
    DEFAULT_STATE_DIR,
    SPANS_FILE_NAME,
    SPANS_FILE_PARAMETER,
    TELEMETRY_JSONL_ENV,
)
from tenantctl.output import print_json, print_lines
from tenantctl.target import Target, read_parameter
from tenantctl.trace_tree import build_tree, read_spans, render_tree


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "trace",
        parents=parents,
        help="draw a job's trace (local span file)",
        description="Draw the job's trace as a tree with durations and span links. Spans are read from "
        "--spans-file, else $TENANT_TELEMETRY_JSONL_PATH, else the file the local AWS publishes, else "
        f"./{DEFAULT_STATE_DIR}/{SPANS_FILE_NAME}. With an OTLP endpoint, look the trace id up in your "
        "tracing backend.",
    )
    parser.add_argument("job_id", metavar="JOB_ID")
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
    job, _ = locate_job(target, args.job_id)
    if not job.trace_id:
        raise NoSpansError(f"job {job.job_id} has no trace id")
    spans = read_spans(spans_file(target, args.spans_file), job.trace_id)
    if args.json:
        print_json({"job_id": job.job_id, "trace_id": job.trace_id, "spans": spans})
        return 0
    print(f"trace {job.trace_id}  ({len(spans)} spans)")
    print_lines(render_tree(build_tree(spans)))
    return 0
