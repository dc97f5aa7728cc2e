"""Which AWS a command talks to (deployed, or the local AWS) and how it finds our resources there.

Both worlds publish the physical names as SSM parameters (`topology.Resource.ssm_parameter`), so
discovery is the same: read the parameters of a region once, then build the adapters on them.

Each region has its own tenant directory, and a tenant can be in several: a migration leaves an entry
in the region it left (naming the new home) and creates one in the target. The entry of record is the
one in the directory of the region it names as home (the directory its functions read); when two
directories each claim the tenant (a cutover undone part-way), the more recently changed one wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.errors import UnknownTenantError
from tenant_pipeline.store.jobs import JobsLedger
from tenant_pipeline.store.tenants import Tenant, TenantDirectory
from tenant_pipeline.topology import Resource
from tenantctl.errors import NotProvisionedError
from tenantctl.local.clients import DUMMY_CREDENTIALS
from tenantctl.local.defaults import LOCAL_ENDPOINT

DEFAULT_REGION = topology.DEFAULT_REGIONS[0]


@dataclass
class Target:
    """An endpoint (None: AWS itself) and a region, with per-region clients and discovered names."""

    endpoint_url: str | None
    region: str
    _clients: dict[str, AwsClients] = field(default_factory=dict)
    _names: dict[str, dict[Resource, str]] = field(default_factory=dict)

    @classmethod
    def resolve(cls, *, local: bool, endpoint_url: str | None, region: str | None) -> Target:
        """`--local` / `--endpoint-url` / `AWS_ENDPOINT_URL`; `--region` / `AWS_REGION` / default."""
        endpoint = LOCAL_ENDPOINT if local else (endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None)
        if endpoint:
            # An emulated endpoint accepts any credentials; spare the user from configuring some.
            for name, value in DUMMY_CREDENTIALS.items():
                os.environ.setdefault(name, value)
        chosen = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        )
        return cls(endpoint_url=endpoint, region=chosen)

    @property
    def display_endpoint(self) -> str:
        return self.endpoint_url or f"AWS ({self.region})"

    def clients(self, region: str | None = None) -> AwsClients:
        region = region or self.region
        if region not in self._clients:
            self._clients[region] = AwsClients(region=region, endpoint_url=self.endpoint_url)
        return self._clients[region]

    def names(self, region: str | None = None) -> dict[Resource, str]:
        """Physical names published in `region` (read once)."""
        region = region or self.region
        if region not in self._names:
            self._names[region] = discover(self.clients(region).ssm)
        if not self._names[region]:
            raise NotProvisionedError(
                f"no {topology.PROJECT} resources are published at {self.display_endpoint} in {region} "
                f"(no SSM parameters under {topology.SSM_PREFIX}/)"
            )
        return self._names[region]

    def name(self, resource: Resource, region: str | None = None) -> str:
        names = self.names(region)
        if resource not in names:
            raise NotProvisionedError(
                f"{resource.value} is not published in {region or self.region} ({resource.ssm_parameter})"
            )
        return names[resource]

    def served_regions(self) -> list[str]:
        """The targeted region first, then the other regions of the product that publish names."""
        regions = [self.region, *(region for region in topology.DEFAULT_REGIONS if region != self.region)]
        served = []
        for region in regions:
            try:
                self.names(region)
            except NotProvisionedError:
                if region == self.region:
                    raise
                continue
            served.append(region)
        return served

    def directory(self, region: str | None = None) -> TenantDirectory:
        """A region's tenant directory: each region's functions read their own."""
        return TenantDirectory(self.name(Resource.TENANTS_TABLE, region), self.clients(region).dynamodb)

    def find_tenant(self, tenant_id: str) -> Tenant:
        """The tenant as its home region's directory records it (the one its functions read)."""
        found: dict[str, Tenant] = {}
        for region in self.served_regions():
            try:
                found[region] = self.directory(region).get(tenant_id)
            except UnknownTenantError:
                continue
        if not found:
            raise UnknownTenantError(self._unknown_tenant_reason(tenant_id))
        return entry_of_record(found)

    def _unknown_tenant_reason(self, tenant_id: str) -> str:
        for region in self.served_regions():
            tombstone = self.directory(region).tombstone(tenant_id)
            if tombstone is not None:
                return (
                    f"tenant {tenant_id!r} was deleted at {tombstone.deleted_at} "
                    f"(`tenantctl job {tombstone.job_id}` shows what was removed)"
                )
        return f"unknown tenant {tenant_id!r}"

    def all_tenants(self) -> list[Tenant]:
        """Every tenant of every region served, each once (as its home region records it)."""
        by_id: dict[str, dict[str, Tenant]] = {}
        for region in self.served_regions():
            for tenant in self.directory(region).list():
                by_id.setdefault(tenant.tenant_id, {})[region] = tenant
        return [entry_of_record(by_id[tenant_id]) for tenant_id in sorted(by_id)]

    def ledger(self, region: str | None = None) -> JobsLedger:
        return JobsLedger(self.name(Resource.JOBS_TABLE, region), self.clients(region).dynamodb)


def entry_of_record(entries: Mapping[str, Tenant]) -> Tenant:
    """One tenant's entry of record among the directories (region -> entry) that hold it.

    An entry in the region it names as home wins over copies elsewhere (which may lag behind it);
    among several such claims, or none, the most recently changed entry wins. `created_at` is the
    earliest of all entries: a migration's target directory records the tenant only from its cutover,
    which is then the entry's last change (`updated_at`) unless a later one is recorded.
    """
    at_home = [tenant for region, tenant in entries.items() if tenant.home_region == region]
    chosen = max(at_home or entries.values(), key=lambda tenant: tenant.updated_at or tenant.created_at)
    created = min(tenant.created_at for tenant in entries.values())
    updated = chosen.updated_at or (chosen.created_at if chosen.created_at != created else None)
    return replace(chosen, created_at=created, updated_at=updated)


def discover(ssm: Any) -> dict[Resource, str]:
    """The resources published under the SSM prefix, keyed by their logical name."""
    by_parameter = {resource.ssm_parameter: resource for resource in Resource}
    found: dict[Resource, str] = {}
    paginator = ssm.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=topology.SSM_PREFIX, Recursive=True):
        for parameter in page.get("Parameters", []):
            resource = by_parameter.get(parameter["Name"])
            if resource is not None:
                found[resource] = parameter["Value"]
    return found


def read_parameter(ssm: Any, name: str) -> str | None:
    """One SSM parameter's value, or None when it does not exist."""
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None
