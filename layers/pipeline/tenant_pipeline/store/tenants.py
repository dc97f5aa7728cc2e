"""The tenant directory: who the tenants are, where they live, whether they accept imports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline import topology
from tenant_pipeline.errors import (
    TenantExistsError,
    TenantStatusConflictError,
    UnknownTenantError,
)
from tenant_pipeline.store.client_errors import as_store_error, error_code, is_conditional_failure
from tenant_pipeline.store.keys import TENANT_SK, TOMBSTONE_SK, check_shard_count, check_tenant_id, tenant_pk
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class TenantStatus(StrEnum):
    ACTIVE = "active"
    MIGRATING = "migrating"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Tombstone:
    """What the directory keeps of a tenant whose data was erased: uploads for it are refused."""

    tenant_id: str
    deleted_at: str
    job_id: str
    shard_count: int = topology.LEGACY_SHARD_COUNT
    """The erased tenant's count, so an erasure run again finds what is left in every shard."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "deleted_at": self.deleted_at,
            "job_id": self.job_id,
            "shard_count": self.shard_count,
        }


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    home_region: str
    status: TenantStatus
    max_invalid_ratio: float
    created_at: str
    updated_at: str | None = None
    column_mappings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per entity, the tenant's own CSV header names -> the column each fills."""
    shard_count: int = topology.LEGACY_SHARD_COUNT
    """Partitions each of the tenant's entities spreads over, fixed when the tenant is created."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "home_region": self.home_region,
            "status": self.status.value,
            "max_invalid_ratio": self.max_invalid_ratio,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "column_mappings": {entity: dict(mapping) for entity, mapping in self.column_mappings.items()},
            "shard_count": self.shard_count,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Tenant:
        return cls(
            tenant_id=item["tenant_id"]["S"],
            home_region=item["home_region"]["S"],
            status=TenantStatus(item["status"]["S"]),
            max_invalid_ratio=float(item["max_invalid_ratio"]["N"]),
            created_at=item["created_at"]["S"],
            updated_at=item["updated_at"]["S"] if "updated_at" in item else None,
            column_mappings=json.loads(item["column_mappings_json"]["S"])
            if "column_mappings_json" in item
            else {},
            shard_count=recorded_shard_count(item),
        )


def recorded_shard_count(item: Mapping[str, Any]) -> int:
    """The count an entry or tombstone records; none recorded: the tenant predates counts, so 8."""
    return int(item["shard_count"]["N"]) if "shard_count" in item else topology.LEGACY_SHARD_COUNT


def now_iso() -> str:
    """UTC time in ISO 8601 with milliseconds and `Z`, the format of every timestamp we store."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TenantDirectory:
    """Adapter over the tenants table."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    @property
    def region(self) -> str | None:
        """The region of the table this directory reads (a region's functions read their own)."""
        meta = getattr(self._client, "meta", None)
        region = getattr(meta, "region_name", None)
        return region if isinstance(region, str) else None

    def create(
        self,
        tenant_id: str,
        home_region: str,
        max_invalid_ratio: float = topology.DEFAULT_MAX_INVALID_RATIO,
        column_mappings: Mapping[str, Mapping[str, str]] | None = None,
        shard_count: int = topology.NEW_TENANT_SHARD_COUNT,
    ) -> Tenant:
        """Record a new tenant; `shard_count` is fixed for its life (a migration carries it along)."""
        check_tenant_id(tenant_id)
        check_shard_count(shard_count)
        if not 0.0 <= max_invalid_ratio <= 1.0:
            raise ValueError(f"max invalid ratio must be between 0 and 1, got {max_invalid_ratio}")
        mappings = dict(column_mappings or {})
        tenant = Tenant(
            tenant_id,
            home_region,
            TenantStatus.ACTIVE,
            float(max_invalid_ratio),
            now_iso(),
            None,
            mappings,
            shard_count,
        )
        item = {
            "pk": {"S": tenant_pk(tenant_id)},
            "sk": {"S": TENANT_SK},
            "tenant_id": {"S": tenant_id},
            "home_region": {"S": home_region},
            "status": {"S": tenant.status.value},
            "max_invalid_ratio": {"N": repr(tenant.max_invalid_ratio)},
            "created_at": {"S": tenant.created_at},
            "shard_count": {"N": str(shard_count)},
        }
        if mappings:
            item["column_mappings_json"] = {"S": json.dumps(mappings)}
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise TenantExistsError(f"tenant {tenant_id!r} already exists") from None
            raise as_store_error(exc, "create tenant") from exc
        self._delete_tombstone(tenant_id)  # an erased tenant's id may be given out again
        return tenant

    def tombstone(self, tenant_id: str) -> Tombstone | None:
        """The tombstone of an erased tenant, or None."""
        try:
            reply = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": TOMBSTONE_SK}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise as_store_error(exc, "get tombstone") from exc
        item = reply.get("Item")
        if item is None:
            return None
        return Tombstone(tenant_id, item["deleted_at"]["S"], item["job_id"]["S"], recorded_shard_count(item))

    def bury(
        self, tenant_id: str, *, job_id: str, shard_count: int, deleted_at: str | None = None
    ) -> Tombstone:
        """Replace the entry by a tombstone, in one transaction; refused while the tenant migrates."""
        tombstone = Tombstone(tenant_id, deleted_at or now_iso(), job_id, check_shard_count(shard_count))
        key = {"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": TENANT_SK}}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": key,
                            "ConditionExpression": "attribute_exists(pk) AND #status <> :migrating",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":migrating": {"S": TenantStatus.MIGRATING.value}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": {"S": tenant_pk(tenant_id)},
                                "sk": {"S": TOMBSTONE_SK},
                                "tenant_id": {"S": tenant_id},
                                "deleted_at": {"S": tombstone.deleted_at},
                                "job_id": {"S": job_id},
                                "shard_count": {"N": str(tombstone.shard_count)},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                current = self.get(tenant_id)  # raises UnknownTenantError when the entry is gone
                raise TenantStatusConflictError(
                    f"tenant {tenant_id!r} is {current.status}; its data cannot be erased now"
                ) from None
            raise as_store_error(exc, "bury tenant") from exc
        return tombstone

    def _delete_tombstone(self, tenant_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table, Key={"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": TOMBSTONE_SK}}
            )
        except ClientError as exc:
            raise as_store_error(exc, "delete tombstone") from exc

    def get(self, tenant_id: str) -> Tenant:
        try:
            reply = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": TENANT_SK}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise as_store_error(exc, "get tenant") from exc
        if "Item" not in reply:
            raise UnknownTenantError(f"unknown tenant {tenant_id!r}")
        return Tenant.from_item(reply["Item"])

    def list(self) -> list[Tenant]:
        tenants: list[Tenant] = []
        try:
            for page in pages(
                self._client.scan,
                TableName=self._table,
                FilterExpression="sk = :sk",
                ExpressionAttributeValues={":sk": {"S": TENANT_SK}},
            ):
                tenants.extend(Tenant.from_item(item) for item in page.get("Items", []))
        except ClientError as exc:
            raise as_store_error(exc, "list tenants") from exc
        return sorted(tenants, key=lambda tenant: tenant.tenant_id)

    def set_column_mapping(self, tenant_id: str, entity: str, mapping: Mapping[str, str]) -> Tenant:
        """Replace the tenant's header names for one entity (an empty mapping removes them)."""
        current = self.get(tenant_id)
        mappings = {name: dict(names) for name, names in current.column_mappings.items() if name != entity}
        if mapping:
            mappings[entity] = dict(mapping)
        values: dict[str, Any] = {":mappings": {"S": json.dumps(mappings)}, ":now": {"S": now_iso()}}
        condition = "attribute_exists(pk) AND "
        if current.updated_at is None:
            condition += "attribute_not_exists(updated_at)"
        else:
            condition += "updated_at = :seen"
            values[":seen"] = {"S": current.updated_at}
        try:
            reply = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": TENANT_SK}},
                UpdateExpression="SET column_mappings_json = :mappings, updated_at = :now",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise TenantStatusConflictError(
                    f"tenant {tenant_id!r} changed while its mapping was being set; try again"
                ) from None
            raise as_store_error(exc, "set column mapping") from exc
        return Tenant.from_item(reply["Attributes"])

    def set_status(
        self,
        tenant_id: str,
        status: TenantStatus | str,
        *,
        expected: TenantStatus | str | None = None,
        home_region: str | None = None,
    ) -> Tenant:
        """Change the status (and optionally the home region); `expected` makes it a compare-and-set."""
        new_status = TenantStatus(status)
        names = {"#status": "status"}
        values: dict[str, Any] = {":status": {"S": new_status.value}, ":now": {"S": now_iso()}}
        update = "SET #status = :status, updated_at = :now"
        condition = "attribute_exists(pk)"
        if home_region is not None:
            update += ", home_region = :region"
            values[":region"] = {"S": home_region}
        if expected is not None:
            condition += " AND #status = :expected"
            values[":expected"] = {"S": TenantStatus(expected).value}
        try:
            reply = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": tenant_pk(tenant_id)}, "sk": {"S": TENANT_SK}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                current = self.get(tenant_id)  # raises UnknownTenantError when the tenant is missing
                raise TenantStatusConflictError(
                    f"tenant {tenant_id!r} is {current.status}, not {TenantStatus(expected or status)}"
                ) from None
            raise as_store_error(exc, "set tenant status") from exc
        return Tenant.from_item(reply["Attributes"])
