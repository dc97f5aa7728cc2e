"""`tenantctl tenants create|list|show|set-mapping|delete`: the tenant directory, and erasing a tenant."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.entities import UnknownEntityError, load_entity
from tenant_pipeline.validation.header import check_mapping
from tenantctl.errors import InvalidArgumentError
from tenantctl.options import global_options
from tenantctl.output import key_values, print_json, print_lines, table
from tenantctl.target import Target
from tenantctl.tenant_erasure import erase_tenant

_COLUMNS = (
    ("tenant_id", "TENANT"),
    ("home_region", "HOME REGION"),
    ("status", "STATUS"),
    ("max_invalid_ratio", "MAX INVALID"),
    ("shard_count", "SHARDS"),
    ("created_at", "CREATED"),
)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("tenants", help="the tenant directory", parents=parents)
    commands = parser.add_subparsers(dest="tenants_command", metavar="COMMAND", required=True)

    create = commands.add_parser(
        "create",
        # --region after `create` is the home region; the global one goes before the command.
        parents=[global_options(suppress=True, with_region=False)],
        help="add a tenant to the directory",
        description="Add a tenant to the directory of its home region (--region here; default: the "
        "targeted region, i.e. the global --region given before the command).",
    )
    create.add_argument("tenant_id", metavar="ID", help="tenant id: ^[a-z0-9][a-z0-9-]{1,62}$")
    create.add_argument("--region", dest="home_region", help="home region (default: the targeted region)")
    create.add_argument(
        "--max-invalid-ratio",
        type=float,
        default=topology.DEFAULT_MAX_INVALID_RATIO,
        metavar="F",
        help="share of invalid rows above which an import fails "
        f"(default {topology.DEFAULT_MAX_INVALID_RATIO})",
    )
    create.add_argument(
        "--shards",
        type=int,
        default=topology.NEW_TENANT_SHARD_COUNT,
        metavar="N",
        help="partitions each of the tenant's entities spreads over, fixed for the tenant's life "
        f"(default {topology.NEW_TENANT_SHARD_COUNT}: enough for 25,000 rows/s, see `tenantctl plan`)",
    )
    create.set_defaults(handler=_create)

    listing = commands.add_parser("list", parents=parents, help="every tenant")
    listing.set_defaults(handler=_list)

    show = commands.add_parser("show", parents=parents, help="one tenant")
    show.add_argument("tenant_id", metavar="ID")
    show.set_defaults(handler=_show)

    mapping = commands.add_parser(
        "set-mapping",
        parents=parents,
        help="the tenant's own CSV header names for an entity's columns",
        description="Accept the tenant's own header names for an entity's columns, e.g. "
        '`tenants set-mapping acme contacts "Mail=email" "Kundennummer=id"`. Names match case- and '
        "space-insensitively, beside the column names and the aliases `entities show` lists. The new "
        "mapping replaces the entity's previous one; --clear removes it. Imports record the mapping they "
        "used.",
    )
    mapping.add_argument("tenant_id", metavar="ID")
    mapping.add_argument("entity", metavar="ENTITY")
    mapping.add_argument(
        "pairs", metavar="NAME=COLUMN", nargs="*", help="a header name and the column it fills"
    )
    mapping.add_argument("--clear", action="store_true", help="remove the entity's mapping")
    mapping.set_defaults(handler=_set_mapping)

    delete = commands.add_parser(
        "delete",
        parents=parents,
        help="erase a tenant's data everywhere and leave a tombstone",
        description="Erase the tenant's records in every region's store and its uploads, error reports, "
        "exports and snapshots, as one job with one trace; the directory keeps a tombstone so a late upload "
        "is rejected with the reason. Refused while the tenant migrates or has an import or export running. "
        "Asks for the tenant id unless --yes.",
    )
    delete.add_argument("tenant_id", metavar="ID")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=_delete)


def create_tenant(
    target: Target,
    tenant_id: str,
    home_region: str | None,
    max_invalid_ratio: float,
    shard_count: int = topology.NEW_TENANT_SHARD_COUNT,
) -> dict[str, Any]:
    if not 0.0 <= max_invalid_ratio <= 1.0:
        raise InvalidArgumentError(f"--max-invalid-ratio must be between 0 and 1, got {max_invalid_ratio}")
    if not 1 <= shard_count <= topology.MAX_SHARD_COUNT:
        raise InvalidArgumentError(
            f"--shards must be from 1 to {topology.MAX_SHARD_COUNT}, got {shard_count}"
        )
    home = home_region or target.region
    # The home region's functions read their own region's directory: the tenant is recorded there.
    directory = target.directory(home)
    return directory.create(tenant_id, home, max_invalid_ratio, shard_count=shard_count).to_dict()


def _create(args: argparse.Namespace) -> int:
    tenant = create_tenant(args.target, args.tenant_id, args.home_region, args.max_invalid_ratio, args.shards)
    if args.json:
        print_json(tenant)
    else:
        print(
            f"created tenant {tenant['tenant_id']} (home region {tenant['home_region']}, "
            f"{tenant['shard_count']} shards)"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    tenants = [tenant.to_dict() for tenant in args.target.all_tenants()]
    if args.json:
        print_json(tenants)
    elif tenants:
        print_lines(table(tenants, _COLUMNS))
    else:
        print("no tenants yet: tenantctl tenants create ID")
    return 0


def _show(args: argparse.Namespace) -> int:
    tenant = args.target.find_tenant(args.tenant_id).to_dict()
    if args.json:
        print_json(tenant)
        return 0
    mappings = tenant.pop("column_mappings")
    print_lines(key_values(tenant))
    for entity, names in sorted(mappings.items()):
        print(
            f"{entity} header names: " + ", ".join(f"{name!r} -> {column}" for name, column in names.items())
        )
    return 0


def _set_mapping(args: argparse.Namespace) -> int:
    if args.clear == bool(args.pairs):
        raise InvalidArgumentError("give NAME=COLUMN pairs, or --clear (not both)")
    try:
        entity = load_entity(args.entity)
    except UnknownEntityError as exc:
        raise InvalidArgumentError(str(exc)) from None
    mapping = mapping_pairs(args.pairs)
    try:
        check_mapping(entity, mapping)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None
    home = args.target.find_tenant(args.tenant_id).home_region
    tenant = args.target.directory(home).set_column_mapping(args.tenant_id, entity.name, mapping)
    if args.json:
        print_json(tenant.to_dict())
    elif mapping:
        shown = ", ".join(f"{name!r} -> {column}" for name, column in mapping.items())
        print(f"{args.tenant_id}: {entity.name} files may name {shown}")
    else:
        print(f"{args.tenant_id}: no own header names for {entity.name}")
    return 0


def mapping_pairs(pairs: list[str]) -> dict[str, str]:
    """`NAME=COLUMN` arguments as a mapping (the name may itself hold `=`)."""
    mapping = {}
    for text in pairs:
        name, equals, column = text.rpartition("=")
        if not equals or not name.strip() or not column.strip():
            raise InvalidArgumentError(f"expected NAME=COLUMN, got {text!r}")
        mapping[name.strip()] = column.strip()
    return mapping


def confirmed(tenant_id: str) -> bool:
    """Ask on the terminal; without one, only --yes deletes."""
    if not sys.stdin.isatty():
        raise InvalidArgumentError(f"deleting {tenant_id} erases its data: confirm with --yes")
    sys.stderr.write(f"This erases every record and file of tenant {tenant_id}. Type its id to confirm: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip() == tenant_id


def _delete(args: argparse.Namespace) -> int:
    if not args.yes and not confirmed(args.tenant_id):
        raise InvalidArgumentError("not confirmed; nothing was deleted")
    job = erase_tenant(args.target, args.tenant_id)
    if args.json:
        print_json(job.to_dict())
        return 0
    totals = job.details.get("totals", {})
    print(
        f"deleted tenant {job.tenant_id} (job {job.job_id}, trace {job.trace_id}): removed "
        + ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in totals.items())
    )
    rows = [{"region": region, **counts} for region, counts in job.details.get("removed", {}).items()]
    columns = [("region", "REGION"), *((what, what.replace("_", " ").upper()) for what in totals)]
    print_lines(table(rows, columns))
    return 0
