"""The local AWS (moto server, both regions, handlers in-process) with the real migration ASL."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tenant_pipeline.migration import dispatch
from tenant_pipeline.store.keys import record_pk
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import LEGACY_SHARD_COUNT, NEW_TENANT_SHARD_COUNT, Resource
from tenant_telemetry.testing import InMemoryTelemetry, in_memory_telemetry
from tenantctl.local.clients import local_client
from tenantctl.local.provision import LOCAL_ROLE_NAME
from tenantctl.local.stack import LocalAws, LocalAwsOptions
from tenantctl.migrate_command import provision_state_machine
from tenantctl.target import Target
from tests.legacy_tenants import put_legacy_tenant

SOURCE = "us-east-1"
TARGET = "eu-west-1"


@dataclass
class Local:
    aws: LocalAws
    endpoint_url: str
    _targets: dict[str, Target] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def target(self, region: str = SOURCE) -> Target:
        if region not in self._targets:
            self._targets[region] = Target(endpoint_url=self.endpoint_url, region=region)
        return self._targets[region]

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:
            self._clients[service, region] = local_client(service, region, self.endpoint_url)
        return self._clients[service, region]

    def name(self, resource: Resource, region: str) -> str:
        return self.target(region).name(resource, region)

    def directory(self, region: str) -> TenantDirectory:
        return TenantDirectory(self.name(Resource.TENANTS_TABLE, region), self.client("dynamodb", region))

    def items(self, tenant_id: str, region: str) -> list[dict[str, Any]]:
        """Every item of the tenant in `region`, by scanning (independent of the migration's reader)."""
        dynamodb = self.client("dynamodb", region)
        paginator = dynamodb.get_paginator("scan")
        found = []
        for page in paginator.paginate(TableName=self.name(Resource.TENANT_DATA_TABLE, region)):
            found += [item for item in page["Items"] if item["pk"]["S"].startswith(f"{tenant_id}#")]
        return sorted(found, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


@pytest.fixture(scope="package")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    saved = dict(os.environ)
    aws = LocalAws(LocalAwsOptions(port=0, state_dir=tmp_path_factory.mktemp("local-aws")))
    aws.start()
    try:
        role_arn = local_client("iam", SOURCE, aws.endpoint_url).get_role(RoleName=LOCAL_ROLE_NAME)["Role"][
            "Arn"
        ]
        for region in (SOURCE, TARGET):
            provision_state_machine(aws.endpoint_url, region, role_arn=role_arn)
        yield Local(aws, aws.endpoint_url)
    finally:
        aws.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def telemetry() -> Iterator[InMemoryTelemetry]:
    with in_memory_telemetry() as memory:
        yield memory


@pytest.fixture
def phases(monkeypatch: pytest.MonkeyPatch) -> dict[str, dispatch.PhaseRunner]:
    """The dispatch table, restored after the test: wrap an entry to inject a fault into one phase."""
    table = dict(dispatch.PHASES)
    monkeypatch.setattr(dispatch, "PHASES", table)
    return table


_counter = iter(range(1, 1_000_000))


def seed_tenant(
    local: Local, *, contacts: int = 23, orders: int = 11, home: str = SOURCE, legacy: bool = False
) -> str:
    """An active tenant (a new one, or one created before counts were recorded) with contacts and
    orders stored as the import pipeline stores them, over the tenant's shards."""
    tenant_id = f"mig{next(_counter)}-{random.randrange(16**6):06x}"
    dynamodb = local.client("dynamodb", home)
    if legacy:
        put_legacy_tenant(dynamodb, local.name(Resource.TENANTS_TABLE, home), tenant_id, home)
    else:
        local.directory(home).create(tenant_id, home, shard_count=NEW_TENANT_SHARD_COUNT)
    shards = LEGACY_SHARD_COUNT if legacy else NEW_TENANT_SHARD_COUNT
    table = local.name(Resource.TENANT_DATA_TABLE, home)
    items = [
        {
            "pk": {"S": record_pk(tenant_id, "contacts", f"c{n}", shards)},
            "sk": {"S": f"c{n}"},
            "id": {"S": f"c{n}"},
            "email": {"S": f"person{n}@example.com"},
            "name": {"S": f"Person {n} ✓"},
            "age": {"N": str(20 + n)},
        }
        for n in range(contacts)
    ] + [
        {
            "pk": {"S": record_pk(tenant_id, "orders", f"o{n}", shards)},
            "sk": {"S": f"o{n}"},
            "id": {"S": f"o{n}"},
            "contact_id": {"S": f"c{n % max(contacts, 1)}"},
            "amount": {"N": f"{n}.25"},
            "currency": {"S": "EUR"},
            "lines": {"L": [{"M": {"sku": {"S": "x"}, "qty": {"N": "2"}}}]},
        }
        for n in range(orders)
    ]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    return tenant_id
