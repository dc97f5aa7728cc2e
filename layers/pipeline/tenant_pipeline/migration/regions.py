"""Where a region's copy of the stack keeps the tenant's data: found through its SSM parameters.

The stack is deployed once per region and CloudFormation names its resources differently in each,
so the migration function learns its own region's names from its environment and any other
region's from the parameters that region's stack publishes under `topology.SSM_PREFIX`. A region
that publishes them is "configured".
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.migration.errors import RegionNotConfiguredError, TransientMigrationError
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code
from tenant_pipeline.topology import Resource

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
