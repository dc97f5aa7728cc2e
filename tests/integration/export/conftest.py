from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenant_pipeline.entities import load_entity
from tenant_pipeline.export import ExportJobs, ExportRunner
from tenant_pipeline.imports.items import AttributePlan
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import TABLES, Resource
from tenantctl.local.provision import table_definition

REGION = "us-east-1"


@dataclass
class RecordingContinuation:
    """Keeps the payloads an export hands to its next invocation."""

    payloads: list[dict[str, Any]]

    def dispatch(self, payload: dict[str, Any]) -> None:
        self.payloads.append(payload)


@dataclass
class ExportWorld:
    """The export's AWS resources on moto, with the adapters over them."""

    s3: Any
    dynamodb: Any
    bucket: str
    names: dict[Resource, str]
    tenants: TenantDirectory
    store: TenantDataStore
    jobs: ExportJobs
    continuation: RecordingContinuation

    def runner(self, **overrides: Any) -> ExportRunner:
        arguments: dict[str, Any] = {
            "tenants": self.tenants,
            "store": self.store,
            "jobs": self.jobs,
            "s3": self.s3,
            "bucket": self.bucket,
            "continuation": self.continuation,
        }
        return ExportRunner(**{**arguments, **overrides})

    def store_records(self, tenant_id: str, entity: str, records: Sequence[dict[str, Any]]) -> None:
        """Write records as the loader does: typed items built from rows in schema column order, keyed
        by the tenant's shard count."""
        schema = load_entity(entity)
        plan = AttributePlan.from_schema(schema.columns, schema.raw["properties"], schema.primary_key)
        rows = [[record.get(column) for column in schema.columns] for record in records]
        self.store.put_items(plan.items(tenant_id, entity, rows, self.tenants.get(tenant_id).shard_count))

    def read(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def world(aws_credentials: None) -> Iterator[ExportWorld]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        names = {settings.table: settings.table.local_name(REGION) for settings in TABLES}
        for settings in TABLES:
            dynamodb.create_table(**table_definition(settings, REGION))
        bucket = Resource.EXPORT_BUCKET.local_name(REGION)
        s3.create_bucket(Bucket=bucket)
        names[Resource.EXPORT_BUCKET] = bucket
        tenants = TenantDirectory(names[Resource.TENANTS_TABLE], dynamodb)
        tenants.create("acme", REGION)
        tenants.create("globex", REGION)
        yield ExportWorld(
            s3=s3,
            dynamodb=dynamodb,
            bucket=bucket,
            names=names,
            tenants=tenants,
            store=TenantDataStore(names[Resource.TENANT_DATA_TABLE], dynamodb),
            jobs=ExportJobs(names[Resource.JOBS_TABLE], dynamodb),
            continuation=RecordingContinuation([]),
        )


def contact(i: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"c{i:06d}",
        "email": f"user{i}@example.com",
        "name": f"Contact {i}",
        "age": i % 90,
        "created_at": "2024-01-02T03:04:05Z",
        "country": "GB",
        **fields,
    }


def order(i: int, **fields: Any) -> dict[str, Any]:
    from decimal import Decimal

    return {
        "id": f"o{i:06d}",
        "contact_id": f"c{i % 100:06d}",
        "amount": Decimal(f"{i}.{i % 100:02d}"),
        "currency": "EUR",
        "status": "paid",
        "placed_at": "2024-02-03T04:05:06Z",
        **fields,
    }


def plenty_of_time() -> int:
    return 900_000


TimeLeft = Callable[[], int]
