"""The global options, shared by the main parser and every command (so they work before or after it)."""

from __future__ import annotations

import argparse

from tenantctl.local.defaults import LOCAL_ENDPOINT


def global_options(*, suppress: bool, with_region: bool = True) -> argparse.ArgumentParser:
    """The global options; on subcommands they default to SUPPRESS so they never undo the main ones."""
    default = argparse.SUPPRESS if suppress else None
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("target and output")
    group.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help=f"target the local AWS at {LOCAL_ENDPOINT}",
    )
    group.add_argument("--endpoint-url", default=default, help="AWS endpoint (default: $AWS_ENDPOINT_URL)")
    if with_region:
        group.add_argument(
            "--region", dest="target_region", metavar="REGION", default=default, help="AWS region"
        )
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="machine-readable output",
    )
    return parser
