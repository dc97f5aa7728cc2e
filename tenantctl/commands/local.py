"""`tenantctl local up` (serve the embedded local AWS) and `tenantctl local info` (what it serves)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tenant_pipeline.topology import Resource
from tenantctl.local.defaults import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_RETRY_AFTER_S,
    DEFAULT_STATE_DIR,
    SPANS_FILE_PARAMETER,
)
from tenantctl.output import key_values, print_json, print_lines
from tenantctl.target import Target, read_parameter


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("local", help="the embedded local AWS", parents=parents)
    commands = parser.add_subparsers(dest="local_command", metavar="COMMAND", required=True)

    up = commands.add_parser(
        "up",
        parents=parents,
        help="start the local AWS with every resource and the pipeline running",
        description=(
            "Start moto in server mode, create the resources of every region served, and run the "
            "functions in-process on the real event shapes. Ctrl-C stops it."
        ),
    )
    up.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    up.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)"
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"local state folder: the span file lives here (default ./{DEFAULT_STATE_DIR})",
    )
    up.add_argument(
        "--retry-after",
        type=int,
        default=DEFAULT_RETRY_AFTER_S,
        metavar="SECONDS",
        help=(
            "local setting: visibility timeout of each receive, i.e. how soon a failed message is retried "
            "(the queues keep topology's timeout; AWS would wait that long)"
        ),
    )
    up.set_defaults(handler=_up)

    info = commands.add_parser("info", parents=parents, help="endpoint, region and resource names")
    info.set_defaults(handler=_info)


_STOP_POLL_S = 0.2


def _up(args: argparse.Namespace) -> int:
    from tenantctl.local.pump import PumpSettings  # loads moto: only when serving
    from tenantctl.local.stack import LocalAws, LocalAwsOptions

    options = LocalAwsOptions(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        pump=PumpSettings(retry_visibility_timeout_s=max(0, args.retry_after)),
    )
    aws = LocalAws(options)
    # SIGTERM only raises a flag: an exception raised from a signal handler can land anywhere in the main
    # thread (inside a print holding the stdout lock, say) and leave the stop to hang.
    stop_requested: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.append(signum))
    try:
        endpoint = aws.start()
        if args.json:
            print_json({"ready": endpoint, "spans_file": str(aws.spans_file) if aws.spans_file else None})
        else:
            print(f"ready: {endpoint}", flush=True)
        while not stop_requested:
            time.sleep(_STOP_POLL_S)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        aws.stop()
    sys.stderr.write("local AWS stopped\n")
    return 0


def local_info(target: Target) -> dict[str, Any]:
    names = target.names()
    return {
        "endpoint_url": target.endpoint_url,
        "region": target.region,
        "resources": {resource.value: names[resource] for resource in Resource if resource in names},
        "spans_file": read_parameter(target.clients().ssm, SPANS_FILE_PARAMETER),
    }


def _info(args: argparse.Namespace) -> int:
    target: Target = args.target
    if target.endpoint_url is None:  # `local info` is about the local AWS: default to its address
        target = Target.resolve(local=True, endpoint_url=None, region=target.region)
    info = local_info(target)
    if args.json:
        print_json(info)
        return 0
    print_lines(key_values({"endpoint": info["endpoint_url"] or "AWS", "region": info["region"]}))
    print_lines(["", *key_values(info["resources"])])
    if info["spans_file"]:
        print_lines(["", *key_values({"spans file": info["spans_file"]})])
    return 0
