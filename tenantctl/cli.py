"""`tenantctl`: drive the tenant data pipelines on AWS or on the embedded local AWS.

Global options work before or after the command (`tenantctl --json jobs acme`, `tenantctl jobs acme --json`).
User mistakes and unreachable endpoints end with one line on stderr and a non-zero exit, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tenantctl import export_command, migrate_command
from tenantctl.commands import (
    demo,
    entities,
    explain,
    imports,
    jobs,
    local,
    plan,
    redrive,
    rejects,
    tenants,
    trace,
    validate,
)
from tenantctl.failures import describe_failure
from tenantctl.options import global_options
from tenantctl.target import Target

_GROUPS = (
    local,
    tenants,
    entities,
    validate,
    imports,
    rejects,
    export_command,
    migrate_command,
    jobs,
    explain,
    trace,
    redrive,
    plan,
    demo,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tenantctl",
        description="Import, export and migrate tenants' data; run the pipelines on an embedded local AWS.",
        parents=[global_options(suppress=False)],
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parents = [global_options(suppress=True)]
    for group in _GROUPS:
        group.register(subparsers, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.target = Target.resolve(
            local=args.local, endpoint_url=args.endpoint_url, region=args.target_region
        )
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        failure = describe_failure(exc)
        if failure is None:
            raise
        return _fail(*failure)
    return code


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"tenantctl: error: {message}\n")
    sys.stderr.flush()
    return code


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
