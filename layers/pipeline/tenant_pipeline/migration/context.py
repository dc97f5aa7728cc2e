"""The adapters a phase works with, built once per cold start from the function's settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.migration.ledger import MigrationLedger
from tenant_pipeline.migration.regions import RegionStack, resolve_region
from tenant_pipeline.migration.snapshots import SnapshotStore
from tenant_pipeline.migration.tenant_items import TenantItems
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.jobs import JobsLedger
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import Resource


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
    _stacks: dict[str, RegionStack] = field(default_factory=dict, repr=False)
    _regional: dict[str, AwsClients] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls) -> MigrationContext:
        settings = PipelineSettings.from_env()
        return cls(clients=AwsClients(region=settings.region), settings=settings)

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
