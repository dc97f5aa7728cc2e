"""Uploads that could not become a job, kept for the operator in the jobs table.

They share the jobs table under one partition of their own (`pk=UPLOAD_REJECTS`, `sk=` a digest of
bucket, key and version), so a duplicate notification records the upload once. The items carry no
`tenant_id` attribute and so never appear in `jobs-by-tenant`: a tenant's view of its jobs cannot show
another tenant's (or a would-be tenant's) stray upload. Only the operator's `tenantctl rejects` lists them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.store.client_errors import as_store_error, is_conditional_failure
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REJECTS_PK = "UPLOAD_REJECTS"


@dataclass(frozen=True)
class RejectedUpload:
    """One upload under `tenants/` that no job will account for, and why."""

    bucket: str
    key: str
    version: str
    reason: str
    recorded_at: str
    claimed_tenant: str | None = None
    """The tenant segment of the key, as written (it may name no tenant at all)."""

    @property
    def reject_id(self) -> str:
        return hashlib.sha256(f"{self.bucket}\n{self.key}\n{self.version}".encode()).hexdigest()[:32]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "recorded_at": self.recorded_at,
            "uri": self.uri,
            "bucket": self.bucket,
            "key": self.key,
            "version": self.version,
            "claimed_tenant": self.claimed_tenant,
            "reason": self.reason,
        }

    def to_item(self) -> dict[str, Any]:
        item = {
            "pk": {"S": REJECTS_PK},
            "sk": {"S": self.reject_id},
            "bucket": {"S": self.bucket},
            "object_key": {"S": self.key},
            "version": {"S": self.version},
            "reason": {"S": self.reason},
            "recorded_at": {"S": self.recorded_at},
        }
        if self.claimed_tenant:
            item["claimed_tenant"] = {"S": self.claimed_tenant}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RejectedUpload:
        return cls(
            bucket=item["bucket"]["S"],
            key=item["object_key"]["S"],
            version=item["version"]["S"],
            reason=item["reason"]["S"],
            recorded_at=item["recorded_at"]["S"],
            claimed_tenant=item["claimed_tenant"]["S"] if "claimed_tenant" in item else None,
        )


class RejectsLog:
    """Adapter over the rejected uploads' partition of the jobs table."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def record(self, rejected: RejectedUpload) -> bool:
        """Keep the upload's first record; False when a duplicate notification had recorded it."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=rejected.to_item(),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise as_store_error(exc, "record rejected upload") from exc
        return True

    def list(self, since: str | None = None) -> list[RejectedUpload]:
        """Rejected uploads recorded at or after `since` (ISO time), newest first."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": REJECTS_PK}},
        }
        if since is not None:
            request["FilterExpression"] = "recorded_at >= :since"
            request["ExpressionAttributeValues"][":since"] = {"S": since}
        found: list[RejectedUpload] = []
        try:
            for page in pages(self._client.query, **request):
                found.extend(RejectedUpload.from_item(item) for item in page.get("Items", []))
        except ClientError as exc:
            raise as_store_error(exc, "list rejected uploads") from exc
        return sorted(found, key=lambda rejected: rejected.recorded_at, reverse=True)
