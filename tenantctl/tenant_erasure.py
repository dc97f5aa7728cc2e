"""The erasure of a tenant, run by `tenantctl tenants delete` over every region the target serves."""

from __future__ import annotations

from tenant_pipeline.entities import entity_names
from tenant_pipeline.erasure import RegionStores, TenantEraser
from tenant_pipeline.migration.tenant_items import TenantItems
from tenant_pipeline.store.jobs import Job
from tenant_pipeline.topology import Resource
from tenantctl.command_telemetry import flush_job_telemetry, use_job_telemetry
from tenantctl.target import Target


def region_stores(target: Target, region: str) -> RegionStores:
    clients = target.clients(region)
    return RegionStores(
        region=region,
        directory=target.directory(region),
        items=TenantItems(
            target.name(Resource.TENANT_DATA_TABLE, region),
            clients.dynamodb,
            entity_names(),
        ),
        s3=clients.s3,
        ingest_bucket=target.name(Resource.INGEST_BUCKET, region),
        export_bucket=target.name(Resource.EXPORT_BUCKET, region),
        snapshot_bucket=target.name(Resource.SNAPSHOT_BUCKET, region),
    )


def eraser(target: Target) -> TenantEraser:
    return TenantEraser([region_stores(target, region) for region in target.served_regions()], target.ledger)


def erase_tenant(target: Target, tenant_id: str) -> Job:
    """Erase the tenant everywhere, as one job with one trace; returns the finished job."""
    use_job_telemetry(target)
    try:
        return eraser(target).erase(tenant_id)
    finally:
        flush_job_telemetry()
