"""The adapters a phase works with, built once per cold start from the function's settings, and where
a region's copy of the stack keeps the tenant's data (found through its SSM parameters).

The stack is deployed once per region and CloudFormation names its resources differently in each,
so the migration function learns its own region's names from its environment and any other
region's from the parameters that region's stack publishes under `topology.SSM_PREFIX`. A region
that publishes them is "configured".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from botocore.exceptions import ClientError

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.migration.errors import RegionNotConfiguredError, TransientMigrationError
from tenant_pipeline.migration.ledger import MigrationLedger
from tenant_pipeline.migration.legs import LegBudget
from tenant_pipeline.migration.snapshot_store import SnapshotStore
from tenant_pipeline.migration.tenant_items import TenantItems
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code
from tenant_pipeline.store.jobs import JobsLedger
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import MIGRATION, Resource

REGION_RESOURCES = (
    Resource.TENANT_DATA_TABLE,
    Resource.TENANTS_TABLE,
    Resource.JOBS_TABLE,
    Resource.SNAPSHOT_BUCKET,
)


@dataclass(frozen=True)
class RegionStack:
    """The physical names a migration touches in one region."""

    region: str
    tenant_data_table: str
    tenants_table: str
    jobs_table: str
    snapshot_bucket: str


def resolve_region(clients: AwsClients, settings: PipelineSettings, region: str) -> RegionStack:
    """Names in `region`: from the environment for the function's own region, else from SSM."""
    if region == settings.region and all(resource in settings.names for resource in REGION_RESOURCES):
        names = {resource: settings.names[resource] for resource in REGION_RESOURCES}
    else:
        names = _published_names(clients.for_region(region), region)
    return RegionStack(
        region=region,
        tenant_data_table=names[Resource.TENANT_DATA_TABLE],
        tenants_table=names[Resource.TENANTS_TABLE],
        jobs_table=names[Resource.JOBS_TABLE],
        snapshot_bucket=names[Resource.SNAPSHOT_BUCKET],
    )


def _published_names(clients: AwsClients, region: str) -> dict[Resource, str]:
    wanted = {resource.ssm_parameter: resource for resource in REGION_RESOURCES}
    try:
        reply = clients.ssm.get_parameters(Names=list(wanted))
    except ClientError as exc:
        if error_code(exc) in THROTTLE_CODES:
            raise TransientMigrationError(f"reading the stack's names in {region}: throttled") from exc
        raise RegionNotConfiguredError(
            f"region {region} is not configured: cannot read its stack's parameters ({error_code(exc)})"
        ) from exc
    found = {wanted[parameter["Name"]]: parameter["Value"] for parameter in reply.get("Parameters", [])}
    missing = [resource.ssm_parameter for resource in REGION_RESOURCES if resource not in found]
    if missing:
        raise RegionNotConfiguredError(
            f"region {region} is not configured: the stack publishes no {', '.join(missing)} there"
        )
    return found


def _never_runs_out() -> int:
    return MIGRATION.timeout_s * 1000


def _all_entities() -> Sequence[str]:
    from tenant_pipeline.entities import entity_names

    return entity_names()


@dataclass
class MigrationContext:
    """Clients of the function's own region, and the way to reach any other region's stack."""

    clients: AwsClients
    settings: PipelineSettings
    entities: Callable[[], Sequence[str]] = _all_entities
    clock_ns: Callable[[], int] = time.time_ns
    remaining_ms: Callable[[], int] | None = None
    """The invocation's time left; None outside Lambda (a leg then ends only by its step cap)."""
    _stacks: dict[str, RegionStack] = field(default_factory=dict, repr=False)
    _regional: dict[str, AwsClients] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls) -> MigrationContext:
        settings = PipelineSettings.from_env()
        return cls(clients=AwsClients(region=settings.region), settings=settings)

    def for_invocation(self, remaining_ms: Callable[[], int]) -> MigrationContext:
        """The same adapters (and caches), with this invocation's clock of time left."""
        return replace(self, remaining_ms=remaining_ms)

    def leg_budget(self) -> LegBudget:
        """The budget of one leg of snapshot, transfer or verify in this invocation."""
        return LegBudget(
            remaining_ms=self.remaining_ms or _never_runs_out,
            reserve_ms=self.settings.migration_leg_reserve_s * 1000,
            max_steps=self.settings.migration_leg_steps,
        )

    @property
    def home_region(self) -> str:
        """The region this function runs in, whose directory and jobs table it reads first."""
        return self.settings.region or self.clients.region

    def stack(self, region: str) -> RegionStack:
        """Names of the stack in `region`; raises `RegionNotConfiguredError` when none is deployed."""
        if region not in self._stacks:
            self._stacks[region] = resolve_region(self.clients, self.settings, region)
        return self._stacks[region]

    def _clients(self, region: str) -> AwsClients:
        """Clients of `region`, made once: building a boto3 client costs far more than a call."""
        if region == self.clients.region:
            return self.clients
        if region not in self._regional:
            self._regional[region] = self.clients.for_region(region)
        return self._regional[region]

    def ledger(self, region: str | None = None) -> MigrationLedger:
        """Migration records of `region` (default: this function's region, where its executions run)."""
        if region is None or region == self.home_region:
            return MigrationLedger(self.settings.name(Resource.JOBS_TABLE), self.clients.dynamodb)
        return MigrationLedger(self.stack(region).jobs_table, self._clients(region).dynamodb)

    def jobs(self) -> JobsLedger:
        """The jobs ledger of this function's region (where a migration keeps its chunk timings)."""
        return JobsLedger(self.settings.name(Resource.JOBS_TABLE), self.clients.dynamodb)

    def directory(self, region: str) -> TenantDirectory:
        return TenantDirectory(self.stack(region).tenants_table, self._clients(region).dynamodb)

    def items(self, region: str) -> TenantItems:
        return TenantItems(
            self.stack(region).tenant_data_table,
            self._clients(region).dynamodb,
            entities=self.entities(),
        )

    def shard_count(self, tenant_id: str) -> int:
        """The tenant's shard count, as its entry in this region's directory records it: the entry
        stays here through the migration and after it (the cutover copies the count to the target)."""
        return self.directory(self.home_region).get(tenant_id).shard_count

    def snapshots(self, region: str) -> SnapshotStore:
        return SnapshotStore(self.stack(region).snapshot_bucket, self._clients(region).s3)
