"""Tenant isolation in migrations, on the local AWS: a migration (and the purge of its source copy) moves
only its tenant, never one that shares its id's prefix and its items' ids; forged ids start nothing."""

from __future__ import annotations

import pytest

from tenant_pipeline.migration.errors import PurgeRefusedError
from tenant_pipeline.migration.purge import purge_copy
from tenant_pipeline.store.tenants import TenantStatus
from tenant_pipeline.topology import Resource
from tenantctl.cli import main as tenantctl
from tenantctl.migrate_command import list_migrations, migration_context, start_migration, wait_for_migration
from tests.integration.migration.conftest import seed_tenant

from .conftest import SOURCE, TARGET, Local
from .test_isolation import FORGED_AT_THE_COMMAND_LINE


@pytest.mark.slow
def test_a_migration_moves_only_its_tenant_not_one_sharing_its_prefix_and_ids(local_aws: Local) -> None:
    # Given two tenants whose ids share a prefix and whose items share ids
    tenant = seed_tenant(local_aws, contacts=6, orders=2)
    neighbour = f"{tenant}-corp"
    local_aws.directory(SOURCE).create(neighbour, SOURCE)
    items = local_aws.items(tenant, SOURCE)
    dynamodb = local_aws.client("dynamodb", SOURCE)
    table = local_aws.name(Resource.TENANT_DATA_TABLE, SOURCE)
    for item in items:
        pk = item["pk"]["S"].replace(f"{tenant}#", f"{neighbour}#", 1)
        dynamodb.put_item(TableName=table, Item={**item, "pk": {"S": pk}})
    neighbours = local_aws.items(neighbour, SOURCE)
    assert len(neighbours) == len(items) == 8
    # When the first migrates, and its source copy is purged
    result = wait_for_migration(local_aws.target(), start_migration(local_aws.target(), tenant, TARGET), 120)
    assert result["status"] == "SUCCEEDED", result
    assert result["record_count"] == 8
    purge_copy(migration_context(local_aws.target(TARGET), TARGET), tenant, SOURCE)
    # Then the neighbour is untouched in both regions, still at home, with no migration of its own
    assert local_aws.items(neighbour, SOURCE) == neighbours
    assert local_aws.items(neighbour, TARGET) == []
    assert local_aws.items(tenant, TARGET) == items
    home = local_aws.directory(SOURCE).get(neighbour)
    assert (home.home_region, home.status) == (SOURCE, TenantStatus.ACTIVE)
    assert list_migrations(local_aws.target(), neighbour) == []
    # And purging the neighbour's home copy through the migrated tenant's context is refused
    with pytest.raises(PurgeRefusedError):
        purge_copy(migration_context(local_aws.target(), SOURCE), neighbour, SOURCE)


@pytest.mark.parametrize("forged", FORGED_AT_THE_COMMAND_LINE)
def test_a_migration_of_a_forged_tenant_id_starts_nothing(
    local_aws: Local, forged: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = tenantctl(
        ["migrate", forged, "--to", TARGET, "--endpoint-url", local_aws.endpoint_url, "--region", SOURCE]
    )
    assert code != 0
    assert capsys.readouterr().err.startswith("tenantctl: error:")
    client = local_aws.client("stepfunctions", SOURCE)
    arn = local_aws.name(Resource.MIGRATION_STATE_MACHINE, SOURCE)
    names = [e["name"] for e in client.list_executions(stateMachineArn=arn)["executions"]]
    assert not any(name.startswith(forged[:50]) for name in names if forged)
