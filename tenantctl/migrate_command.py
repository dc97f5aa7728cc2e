"""`tenantctl migrate`, `tenantctl migrations`, `tenantctl purge-source`, and the local state machine.

`migrate TENANT --to REGION` starts the `tenant-migration` execution in the tenant's home region with
the documented input (`tenant_pipeline.migration.request`), carrying a new trace's context, and with
`--wait` follows it phase by phase. The result (JSON with `--json`) has `status` (SUCCEEDED,
ROLLED_BACK, FAILED, or RUNNING without `--wait`), `phases` with durations, record counts, whether
the checksums matched, bytes transferred, `execution_arn` and `trace_id`.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import infra
from infra.asl_template import load_definition
from tenant_pipeline import topology
from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.errors import UnknownMigrationError
from tenant_pipeline.migration.ledger import MigrationLedger, MigrationRecord
from tenant_pipeline.migration.purge import purge_copy
from tenant_pipeline.migration.request import DEFAULT_CHUNK_ITEMS, MigrationRequest
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.topology import Resource
from tenantctl.errors import InvalidArgumentError, JobTimeoutError, NotProvisionedError, TenantctlError
from tenantctl.local.clients import local_client
from tenantctl.output import key_values, print_json, print_lines, table
from tenantctl.target import Target

DEFINITION_PATH = Path(infra.__file__).resolve().parent / "statemachines" / "tenant_migration.asl.json"
FUNCTION_PLACEHOLDER = "MigrationFunctionArn"
SNAPSHOT_BUCKET_PLACEHOLDER = "SnapshotBucket"
DEFAULT_WAIT_S = 900.0
POLL_INTERVAL_S = 0.5
_EXECUTION_STATUS = {"SUCCEEDED": "SUCCEEDED", "RUNNING": "RUNNING", "PENDING_REDRIVE": "RUNNING"}
_LIST_COLUMNS = (
    ("migration_id", "MIGRATION"),
    ("status", "STATUS"),
    ("source_region", "FROM"),
    ("target_region", "TO"),
    ("record_count", "RECORDS"),
    ("checksum_match", "VERIFIED"),
    ("started_at", "STARTED"),
)
_RESULT_FIELDS = (
    "status",
    "migration_id",
    "tenant_id",
    "source_region",
    "target_region",
    "record_count",
    "target_record_count",
    "checksum_match",
    "bytes_transferred",
    "execution_arn",
    "trace_id",
    "error",
)


class MigrationNotSucceededError(TenantctlError):
    """A waited-for migration ended without cutting over (the result is printed first)."""


@dataclass
class StartedMigration:
    """What `start_migration` returns: enough to follow the execution and find its record."""

    tenant_id: str
    source_region: str
    target_region: str
    migration_id: str
    execution_arn: str
    trace_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    migrate = subparsers.add_parser(
        "migrate", parents=parents, help="move a tenant to another region (Step Functions workflow)"
    )
    migrate.add_argument("tenant_id", metavar="TENANT")
    migrate.add_argument("--to", dest="to_region", required=True, metavar="REGION", help="target region")
    migrate.add_argument("--wait", action="store_true", help="follow the migration phase by phase")
    migrate.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"how long --wait waits (default: {DEFAULT_WAIT_S:.0f})",
    )
    migrate.add_argument(
        "--chunk-items",
        type=int,
        default=DEFAULT_CHUNK_ITEMS,
        metavar="N",
        help=f"items per snapshot chunk (default: {DEFAULT_CHUNK_ITEMS})",
    )
    migrate.set_defaults(handler=_migrate)

    listing = subparsers.add_parser("migrations", parents=parents, help="a tenant's migrations, newest first")
    listing.add_argument("tenant_id", metavar="TENANT")
    listing.set_defaults(handler=_migrations)

    purge = subparsers.add_parser(
        "purge-source",
        parents=parents,
        help="delete the copy a finished migration kept in the region the tenant left",
    )
    purge.add_argument("tenant_id", metavar="TENANT")
    purge.add_argument(
        "--from",
        dest="from_region",
        metavar="REGION",
        help="region to purge (default: the source of the tenant's latest migration)",
    )
    purge.set_defaults(handler=_purge)


# --- starting and following ---------------------------------------------------------------------------


def start_migration(
    target: Target, tenant_id: str, to_region: str, *, chunk_items: int = DEFAULT_CHUNK_ITEMS
) -> StartedMigration:
    """Start the execution in the tenant's home region; the input carries a new trace's context."""
    tenant = target.find_tenant(tenant_id)
    source = tenant.home_region
    trace_id = secrets.token_hex(16)
    request = MigrationRequest(
        tenant_id=tenant_id,
        target_region=to_region,
        trace={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
        chunk_items=chunk_items,
    )
    migration_id = _execution_name(tenant_id)
    arn = target.name(Resource.MIGRATION_STATE_MACHINE, source)
    reply = target.clients(source).stepfunctions.start_execution(
        stateMachineArn=arn, name=migration_id, input=json.dumps(request.to_input())
    )
    return StartedMigration(tenant_id, source, to_region, migration_id, reply["executionArn"], trace_id)


def _execution_name(tenant_id: str) -> str:
    """Unique, readable, within the 80 characters Step Functions allows."""
    return f"{tenant_id[:50]}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(3)}"


_MIGRATION_ID = re.compile(r"^(?P<tenant>[a-z0-9][a-z0-9-]{0,49})-\d{8}T\d{6}Z-[0-9a-f]{6}$")
"""What `_execution_name` makes: the tenant id (its first 50 characters), a UTC time, a random suffix."""


def find_migration(
    target: Target, migration_id: str, tenant_id: str | None = None
) -> tuple[MigrationRecord, str] | None:
    """The migration's record and the region keeping it, or None. The tenant is read from the id
    unless given (an id holds only the first 50 characters of a longer tenant id)."""
    if tenant_id is None:
        named = _MIGRATION_ID.fullmatch(migration_id)
        if named is None:
            return None
        tenant_id = named.group("tenant")
    for region in dict.fromkeys([target.region, *topology.DEFAULT_REGIONS]):
        try:
            return _ledger(target, region).get(tenant_id, migration_id), region
        except UnknownMigrationError:
            continue
        except NotProvisionedError:
            if region == target.region:
                raise
    return None


def migration_result(target: Target, started: StartedMigration) -> dict[str, Any]:
    """The migration as the command reports it, from its execution and its record."""
    execution = target.clients(started.source_region).stepfunctions.describe_execution(
        executionArn=started.execution_arn
    )
    record = _record(target, started)
    result: dict[str, Any] = (
        record.to_dict()
        if record is not None
        else {
            "migration_id": started.migration_id,
            "tenant_id": started.tenant_id,
            "source_region": started.source_region,
            "target_region": started.target_region,
            "phases": {},
        }
    )
    result["execution_arn"] = started.execution_arn
    result["trace_id"] = result.get("trace_id") or started.trace_id
    result["execution_status"] = execution["status"]
    result["status"] = _status(execution, record)
    if execution["status"] not in ("RUNNING", "SUCCEEDED") and not result.get("error"):
        result["error"] = f"{execution.get('error', 'Failed')}: {execution.get('cause', '')}".strip()
    return result


def _record(target: Target, started: StartedMigration) -> MigrationRecord | None:
    try:
        return _ledger(target, started.source_region).get(started.tenant_id, started.migration_id)
    except UnknownMigrationError:
        return None


def _status(execution: Mapping[str, Any], record: MigrationRecord | None) -> str:
    status = _EXECUTION_STATUS.get(str(execution["status"]))
    if status is not None:
        return status
    if record is not None and record.status.value in ("ROLLED_BACK", "FAILED"):
        return record.status.value
    return "FAILED"


def wait_for_migration(
    target: Target,
    started: StartedMigration,
    timeout_s: float,
    on_phase: Callable[[str, Mapping[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Poll until the execution ends, reporting each phase once it is done."""
    deadline = time.monotonic() + timeout_s
    reported: set[str] = set()
    while True:
        result = migration_result(target, started)
        for name, phase in result.get("phases", {}).items():
            if name not in reported and phase.get("status") in ("done", "failed"):
                reported.add(name)
                if on_phase is not None:
                    on_phase(name, phase)
        if result["status"] != "RUNNING":
            return result
        if time.monotonic() >= deadline:
            raise JobTimeoutError(f"migration {started.migration_id} still running after {timeout_s:.0f}s")
        time.sleep(POLL_INTERVAL_S)


def _print_phase(name: str, phase: Mapping[str, Any]) -> None:
    duration = phase.get("duration_s")
    attempts = phase.get("attempts", 1)
    note = f" after {attempts} attempts" if isinstance(attempts, int) and attempts > 1 else ""
    shown = f"{duration:.2f}s" if isinstance(duration, int | float) else "-"
    sys.stderr.write(f"  {name:<9} {phase.get('status', '?'):<6} {shown}{note}\n")
    sys.stderr.flush()


def _migrate(args: argparse.Namespace) -> int:
    target: Target = args.target
    if not 1 <= args.chunk_items <= 10_000:
        raise InvalidArgumentError("--chunk-items must be from 1 to 10000")
    started = start_migration(target, args.tenant_id, args.to_region, chunk_items=args.chunk_items)
    if not args.wait:
        result = {
            "status": "RUNNING",
            "migration_id": started.migration_id,
            "tenant_id": started.tenant_id,
            "source_region": started.source_region,
            "target_region": started.target_region,
            "execution_arn": started.execution_arn,
            "trace_id": started.trace_id,
        }
    else:
        if not args.json:
            sys.stderr.write(
                f"migrating {started.tenant_id}: {started.source_region} -> {started.target_region}\n"
            )
        result = wait_for_migration(target, started, args.timeout, None if args.json else _print_phase)
    _show(result, args.json)
    if result["status"] in ("SUCCEEDED", "RUNNING"):
        return 0
    raise MigrationNotSucceededError(
        f"migration {started.migration_id} {result['status']}: {result.get('error')}"
    )


def _show(result: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    print_lines(key_values(result, _RESULT_FIELDS))
    phases = result.get("phases") or {}
    if phases:
        rows = [{"phase": name, **phase} for name, phase in phases.items()]
        print_lines(
            table(
                rows,
                (
                    ("phase", "PHASE"),
                    ("status", "STATUS"),
                    ("duration_s", "SECONDS"),
                    ("attempts", "ATTEMPTS"),
                ),
            )
        )


# --- listing and purging ------------------------------------------------------------------------------


def _ledger(target: Target, region: str) -> MigrationLedger:
    return MigrationLedger(target.name(Resource.JOBS_TABLE, region), target.clients(region).dynamodb)


def list_migrations(target: Target, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's migrations in every region served (each is recorded where its execution ran)."""
    tenant = target.find_tenant(tenant_id)
    regions = dict.fromkeys([target.region, tenant.home_region, *topology.DEFAULT_REGIONS])
    found: dict[str, dict[str, Any]] = {}
    for region in regions:
        try:
            ledger = _ledger(target, region)
        except NotProvisionedError:
            if region == target.region:
                raise
            continue
        for record in ledger.list_for_tenant(tenant_id):
            found.setdefault(record.migration_id, record.to_dict())
    return sorted(found.values(), key=lambda entry: str(entry.get("started_at")), reverse=True)


def _migrations(args: argparse.Namespace) -> int:
    migrations = list_migrations(args.target, args.tenant_id)
    if args.json:
        print_json(migrations)
    elif migrations:
        print_lines(table(migrations, _LIST_COLUMNS))
    else:
        print(f"no migrations for {args.tenant_id} yet")
    return 0


def migration_context(target: Target, region: str) -> MigrationContext:
    """The migration adapters as the function in `region` has them, for commands run by an operator."""
    settings = PipelineSettings(names=target.names(region), region=region)
    return MigrationContext(clients=target.clients(region), settings=settings)


def _purge(args: argparse.Namespace) -> int:
    target: Target = args.target
    tenant = target.find_tenant(args.tenant_id)
    region = args.from_region
    if region is None:
        kept = [m for m in list_migrations(target, args.tenant_id) if m["status"] == "SUCCEEDED"]
        if not kept:
            raise InvalidArgumentError(
                f"{args.tenant_id} has no finished migration; name the region with --from"
            )
        region = kept[0]["source_region"]
    result = purge_copy(migration_context(target, tenant.home_region), args.tenant_id, region)
    data = {"tenant_id": result.tenant_id, "region": result.region, "deleted_items": result.deleted_items}
    if args.json:
        print_json(data)
    else:
        print(f"deleted {result.deleted_items} item(s) of {result.tenant_id} from {result.region}")
    return 0


# --- the local AWS --------------------------------------------------------------------------------------


def provision_state_machine(
    endpoint_url: str | None, region: str, *, role_arn: str, function_arn: str | None = None
) -> str:
    """Create (or update) the migration state machine on the local AWS from the ASL file; publish its ARN.

    The definition is the file the CDK app deploys, with `${MigrationFunctionArn}` rendered to the
    local migration function (registered under `Resource.MIGRATION_FUNCTION.local_name(region)`) and
    `${SnapshotBucket}` to the region's snapshot bucket.
    """
    if function_arn is None:
        lambda_client = local_client("lambda", region, endpoint_url)
        name = Resource.MIGRATION_FUNCTION.local_name(region)
        function_arn = str(lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
    substitutions = {
        FUNCTION_PLACEHOLDER: function_arn,
        SNAPSHOT_BUCKET_PLACEHOLDER: Resource.SNAPSHOT_BUCKET.local_name(region),
    }
    definition = load_definition(DEFINITION_PATH, substitutions).render()
    sfn = local_client("stepfunctions", region, endpoint_url)
    name = Resource.MIGRATION_STATE_MACHINE.local_name(region)
    existing = {
        machine["name"]: machine["stateMachineArn"] for machine in sfn.list_state_machines()["stateMachines"]
    }
    if name in existing:
        arn = str(existing[name])
        sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
    else:
        arn = str(
            sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"]
        )
    local_client("ssm", region, endpoint_url).put_parameter(
        Name=Resource.MIGRATION_STATE_MACHINE.ssm_parameter, Value=arn, Type="String", Overwrite=True
    )
    return arn
