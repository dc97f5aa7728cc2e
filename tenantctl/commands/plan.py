"""`tenantctl plan --rows N --row-bytes B`: what an import of that size would meet on AWS, per the model.

A model, not a measurement: per-unit costs from `make bench` (its `bench/results.json` when given,
else figures recorded from one run) times AWS's documented quotas and the shipped settings
(`tenant_pipeline.capacity`). Needs no AWS.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.capacity import (
    RECORDED_UNIT_COSTS,
    SIZE_COLUMNS,
    CapacityModel,
    Phase,
    Plan,
    Settings,
    UnitCosts,
    size_rows,
)
from tenant_pipeline.entities import UnknownEntityError, load_entity
from tenantctl.errors import InvalidArgumentError
from tenantctl.output import print_json, print_lines, table

FORMATS = ("csv", "jsonl", "json", "csv.gz", "jsonl.gz", "json.gz")
MODEL_NOTICE = (
    "This is a model, not a measurement: CPU costs measured by `make bench`, scaled by Lambda's CPU share, "
    "and AWS's documented quotas; network waits are assumptions."
)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        parents=parents,
        help="model an import's time, binding limit and cost on AWS",
        description="Model an import of N rows of B bytes on AWS: each phase's wall time, the limit that "
        "binds and the cost, with the shipped settings. " + MODEL_NOTICE,
    )
    parser.add_argument("--rows", type=int, required=True, metavar="N", help="rows in the file")
    parser.add_argument("--row-bytes", type=int, required=True, metavar="B", help="average bytes per row")
    parser.add_argument("--entity", metavar="E", help="entity type (checked; see `tenantctl entities`)")
    parser.add_argument(
        "--tenants",
        type=int,
        default=1,
        metavar="K",
        help="tenants importing such a file at once (default 1)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="file format (default csv); with .gz, N x B is the content's size: a gzip file or a JSON array "
        "is read in one invocation, a plain CSV or JSON Lines file in legs",
    )
    parser.add_argument(
        "--migration",
        action="store_true",
        help="model the migration of a tenant of N items of B bytes to another region instead",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=topology.NEW_TENANT_SHARD_COUNT,
        metavar="N",
        help="the tenant's shard count, as `tenants show` gives it (default "
        f"{topology.NEW_TENANT_SHARD_COUNT}, a new tenant's; tenants created before counts were recorded "
        f"have {topology.LEGACY_SHARD_COUNT})",
    )
    parser.add_argument(
        "--unit-costs",
        metavar="PATH",
        help="a `bench/results.json` written by `make bench` (default: figures recorded from one run)",
    )
    parser.set_defaults(handler=_plan)


def unit_costs(path: str | None) -> UnitCosts:
    if path is None:
        return RECORDED_UNIT_COSTS
    try:
        results = json.loads(Path(path).read_text())
        return UnitCosts.from_dict(results["figures"]["capacity"]["unit_costs"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidArgumentError(f"--unit-costs {path}: no unit costs from `make bench` ({exc})") from None


def _plan(args: argparse.Namespace) -> int:
    if args.rows < 1 or args.row_bytes < 1 or args.tenants < 1:
        raise InvalidArgumentError("--rows, --row-bytes and --tenants must be positive")
    if not 1 <= args.shards <= topology.MAX_SHARD_COUNT:
        raise InvalidArgumentError(f"--shards must be from 1 to {topology.MAX_SHARD_COUNT}")
    if args.entity:
        try:
            load_entity(args.entity)
        except UnknownEntityError as exc:
            raise InvalidArgumentError(str(exc)) from None
    costs = unit_costs(args.unit_costs)
    model = CapacityModel(costs, replace(Settings.shipped(), shard_count=args.shards))
    if args.migration:
        return _plan_migration(args, model)
    plan = model.plan_import(args.rows, args.row_bytes, file_format=args.format, tenants=args.tenants)
    result = {
        **plan.to_dict(),
        "entity": args.entity,
        "format": args.format,
        "shard_count": args.shards,
        "unit_costs": costs.to_dict(),
        "validation_legs": validation_legs(plan.phases[0]),
        "largest_admitted_import_bytes": model.largest_admitted_import_bytes(args.row_bytes, args.format),
        "largest_admitted_import_bytes_by_format": {
            name: model.largest_admitted_import_bytes(args.row_bytes, name) for name in FORMATS
        },
    }
    if args.json:
        print_json(result)
    else:
        _print(plan, result, model)
    return 0 if plan.fits else 1


def validation_legs(validate: Phase) -> dict[str, int]:
    """The validation's invocations: its read legs and the finishing stages' legs after them."""
    read = sum(stage.legs for stage in validate.stages if stage.name == "read") or 1
    return {"read": read, "finishing": validate.legs - read}


def _plan_migration(args: argparse.Namespace, model: CapacityModel) -> int:
    plan = model.plan_migration(args.rows, args.row_bytes)
    result = {
        **plan.to_dict(),
        "unit_costs": model.costs.to_dict(),
        "largest_migration_items": model.largest_migration_items(args.row_bytes),
    }
    if args.json:
        print_json(result)
        return 0 if plan.fits else 1
    print(MODEL_NOTICE)
    print(f"migration of a tenant of {plan.rows:,} items x {plan.row_bytes} B")
    _print_phases(plan)
    for phase in plan.phases:
        if phase.note:
            print(f"{phase.name}: {phase.note}")
    print(
        f"{plan.figures['history_events']:,.0f} events in the execution's history (of 25,000); "
        f"largest tenant that migrates: {result['largest_migration_items']:,.0f} items"
    )
    return 0 if plan.fits else 1


def _print_phases(plan: Plan) -> None:
    rows = [
        {
            "phase": phase.name,
            "wall": f"{phase.wall_s:,.1f} s",
            "binding": phase.binding,
            "use": f"{phase.usage[phase.binding]:.0%}" if phase.usage else "-",
            "fits": "yes" if phase.fits else "NO",
            "cost": f"${phase.cost_usd:,.4f}",
        }
        for phase in plan.phases
    ]
    columns = [("phase", "phase"), ("wall", "wall"), ("binding", "binding limit")]
    print_lines(table(rows, [*columns, ("use", "use"), ("fits", "fits"), ("cost", "cost")]))
    print(f"total {plan.wall_s:,.1f} s, ${plan.cost_usd:,.4f}")


def _print_validation(validate: Phase, legs: dict[str, int]) -> None:
    if not validate.stages:
        print("validation: one invocation reads and finishes the file")
        return
    print(
        f"validation in {validate.legs:,} legs: {legs['read']:,} read, {legs['finishing']:,} finishing "
        f"(largest use: {validate.binding} {validate.usage[validate.binding]:.0%})"
    )
    rows = [
        {
            "stage": stage.name,
            "legs": f"{stage.legs:,}",
            "wall": f"{stage.wall_s:,.1f} s",
            "binding": stage.binding,
            "use": f"{stage.usage[stage.binding]:.0%}",
            "fits": "yes" if stage.fits else "NO",
            "cost": f"${stage.cost_usd:,.4f}",
        }
        for stage in validate.stages
    ]
    columns = [("stage", "stage"), ("legs", "legs"), ("wall", "wall"), ("binding", "binding limit")]
    print_lines(table(rows, [*columns, ("use", "use"), ("fits", "fits"), ("cost", "cost")]))


def _print(plan: Plan, result: dict[str, Any], model: CapacityModel) -> None:
    print(MODEL_NOTICE)
    size = plan.rows * plan.row_bytes
    print(
        f"import of {plan.rows:,} rows x {plan.row_bytes} B ({size / 1e9:,.3f} GB {result['format']})"
        + (f" of {result['entity']}" if result["entity"] else "")
        + (f", {plan.tenants} tenants at once" if plan.tenants > 1 else "")
    )
    _print_phases(plan)
    figures = plan.figures
    rate = figures["tenant_write_rows_per_s"]
    print(
        f"one tenant with {result['shard_count']} shards writes at most {rate:,.0f} rows/s once the table "
        "has ramped"
    )
    fair, unfair = (" (shipped)", "") if model.settings.fair_batches else ("", " (shipped)")
    print(
        f"a 100-row import of another tenant waits {figures['small_tenant_wait_fair_s']:,.1f} s beside it "
        f"with per-tenant fair queues{fair}, "
        f"{figures['small_tenant_wait_arrival_order_s']:,.0f} s in arrival order{unfair}"
    )
    _print_validation(plan.phases[0], result["validation_legs"])
    by_format = result["largest_admitted_import_bytes_by_format"]
    print(
        f"largest file admitted and validated: {by_format['csv'] / 1e9:,.2f} GB of plain CSV (read in legs); "
        + ", ".join(f"{name} {size / 1e9:,.2f} GB" for name, size in by_format.items() if name != "csv")
    )
    for phase in plan.phases:
        if phase.note:
            print(f"{phase.name}: {phase.note}")
    print()
    print("the model at other sizes (one tenant, plain CSV):")
    print_lines(table(size_rows(model, plan.row_bytes), SIZE_COLUMNS))
