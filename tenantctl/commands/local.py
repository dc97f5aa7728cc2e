"""`tenantctl local up|down|env|info`: serve the embedded local AWS, stop it, point clients at it."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tenant_pipeline.topology import Resource
from tenantctl.errors import LocalAwsNotRunningError
from tenantctl.local.clients import DUMMY_CREDENTIALS
from tenantctl.local.defaults import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_RETRY_AFTER_S,
    DEFAULT_STATE_DIR,
    LOCAL_ENDPOINT,
    SPANS_FILE_PARAMETER,
)
from tenantctl.local.pid_file import RunningLocalAws, pid_file, read_running, remove_running, write_running
from tenantctl.output import key_values, print_json, print_lines
from tenantctl.target import DEFAULT_REGION, Target, read_parameter

_STATE_DIR_HELP = (
    f"local state folder: the span file and the running local AWS's pid file live here "
    f"(default: ./{DEFAULT_STATE_DIR})"
)
DEFAULT_DOWN_TIMEOUT_S = 30.0


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("local", help="the embedded local AWS", parents=parents)
    commands = parser.add_subparsers(dest="local_command", metavar="COMMAND", required=True)

    up = commands.add_parser(
        "up",
        parents=parents,
        help="start the local AWS with every resource and the pipeline running",
        description=(
            "Start moto in server mode, create the resources of every region served, and run the "
            "functions in-process on the real event shapes. Every function's log lines (JSON, as on "
            "Lambda) go to standard error. Ctrl-C stops it."
        ),
    )
    up.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    up.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)"
    )
    up.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=_STATE_DIR_HELP)
    up.add_argument(
        "--retry-after",
        type=int,
        default=DEFAULT_RETRY_AFTER_S,
        metavar="SECONDS",
        help=(
            "local setting: visibility timeout of each receive, i.e. how soon a failed message is retried "
            "(the queues keep topology's timeout; AWS would wait that long) "
            f"(default: {DEFAULT_RETRY_AFTER_S})"
        ),
    )
    up.set_defaults(handler=_up)

    info = commands.add_parser("info", parents=parents, help="endpoint, region and resource names")
    info.set_defaults(handler=_info)

    env = commands.add_parser(
        "env",
        parents=parents,
        help="print the export lines that point any AWS client at the local AWS",
        description="Print `export` lines for the endpoint, the region and the dummy credentials the local "
        'AWS accepts: eval "$(tenantctl local env)". The endpoint is the running `local up` of --state-dir, '
        f"else {LOCAL_ENDPOINT}.",
    )
    env.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=_STATE_DIR_HELP)
    env.set_defaults(handler=_env)

    down = commands.add_parser(
        "down",
        parents=parents,
        help="stop the local AWS that `local up` started",
        description="Stop the `tenantctl local up` started from --state-dir (it finishes its running "
        "invocations first) and wait until it has exited.",
    )
    down.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=_STATE_DIR_HELP)
    down.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_DOWN_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for it to exit (default: {DEFAULT_DOWN_TIMEOUT_S:.0f})",
    )
    down.set_defaults(handler=_down)


_STOP_POLL_S = 0.2


def _up(args: argparse.Namespace) -> int:
    from tenant_pipeline.function_logs import LOG_STREAM_ENV
    from tenantctl.local.pump import PumpSettings  # loads moto: only when serving
    from tenantctl.local.stack import LocalAws, LocalAwsOptions

    options = LocalAwsOptions(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        pump=PumpSettings(retry_visibility_timeout_s=max(0, args.retry_after)),
        # The functions' log lines, as `sam local` shows them; standard output carries only "ready".
        function_environment={LOG_STREAM_ENV: "stderr"},
    )
    aws = LocalAws(options)
    # SIGTERM only raises a flag: an exception raised from a signal handler can land anywhere in the main
    # thread (inside a print holding the stdout lock, say) and leave the stop to hang.
    stop_requested: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.append(signum))
    try:
        endpoint = aws.start()
        write_running(args.state_dir, RunningLocalAws(os.getpid(), endpoint, aws.primary_region))
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
        remove_running(args.state_dir, os.getpid())
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


def client_environment(state_dir: Path, region: str | None) -> dict[str, str]:
    """What any AWS client needs to talk to the local AWS: endpoint, region, dummy credentials."""
    running = read_running(state_dir)
    endpoint = running.endpoint_url if running is not None and running.alive else LOCAL_ENDPOINT
    chosen = region or (running.region if running is not None else DEFAULT_REGION)
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": chosen,
        "AWS_DEFAULT_REGION": chosen,
        **DUMMY_CREDENTIALS,
    }


def _env(args: argparse.Namespace) -> int:
    env = client_environment(args.state_dir, getattr(args, "target_region", None))
    if args.json:
        print_json(env)
    else:
        print_lines([f"export {name}={shlex.quote(value)}" for name, value in env.items()])
    return 0


def stop_local_aws(state_dir: Path, timeout_s: float) -> RunningLocalAws:
    """SIGTERM the `local up` of this state folder and wait for it to exit."""
    running = read_running(state_dir)
    if running is None:
        raise LocalAwsNotRunningError(
            f"no local AWS was started from {state_dir} (no {pid_file(state_dir).name} there)"
        )
    if not running.alive:
        pid_file(state_dir).unlink(missing_ok=True)
        raise LocalAwsNotRunningError(f"the local AWS of {state_dir} (pid {running.pid}) is not running")
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while running.alive:
        if time.monotonic() >= deadline:
            raise LocalAwsNotRunningError(
                f"the local AWS (pid {running.pid}) did not stop within {timeout_s:.0f}s"
            )
        time.sleep(_STOP_POLL_S)
    pid_file(state_dir).unlink(missing_ok=True)
    return running


def _down(args: argparse.Namespace) -> int:
    stopped = stop_local_aws(args.state_dir, args.timeout)
    if args.json:
        print_json({"stopped": stopped.endpoint_url, "pid": stopped.pid})
    else:
        print(f"stopped the local AWS at {stopped.endpoint_url} (pid {stopped.pid})")
    return 0
