"""Directory entries as they were written before tenants recorded a shard count."""

from __future__ import annotations

from typing import Any

from tenant_pipeline.store.keys import TENANT_SK, tenant_pk


def put_legacy_tenant(dynamodb: Any, table: str, tenant_id: str, home_region: str) -> None:
    """An active tenant's entry with every attribute an entry had then, and no `shard_count`."""
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": tenant_pk(tenant_id)},
            "sk": {"S": TENANT_SK},
            "tenant_id": {"S": tenant_id},
            "home_region": {"S": home_region},
            "status": {"S": "active"},
            "max_invalid_ratio": {"N": "0.5"},
            "created_at": {"S": "2025-06-01T00:00:00.000Z"},
        },
    )
