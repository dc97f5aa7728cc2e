"""`tenantctl migrate --wait --json` and `tenantctl migrations` against the local AWS."""

from __future__ import annotations

import json

import pytest

from tenantctl.cli import main
from tenantctl.migrate_command import StartedMigration, wait_for_migration
from tests.integration.migration.conftest import SOURCE, TARGET, Local, seed_tenant


def test_migrate_wait_json_reports_the_result_and_migrations_lists_it(
    local: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = seed_tenant(local, contacts=4, orders=4)
    common = ["--endpoint-url", local.endpoint_url, "--region", SOURCE, "--json"]
    assert main(["migrate", tenant_id, "--to", TARGET, "--wait", *common]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "SUCCEEDED"
    assert result["record_count"] == result["target_record_count"] == 8
    assert result["checksum_match"] is True
    assert result["bytes_transferred"] > 0
    assert result["execution_arn"].startswith(f"arn:aws:states:{SOURCE}:")
    assert len(result["trace_id"]) == 32
    assert all(isinstance(phase["duration_s"], float) for phase in result["phases"].values())

    assert main(["migrations", tenant_id, *common]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["migration_id"] for entry in listed] == [result["migration_id"]]


def test_migrate_without_wait_returns_running_and_a_bad_target_fails(
    local: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = seed_tenant(local, contacts=1, orders=0)
    common = ["--endpoint-url", local.endpoint_url, "--region", SOURCE, "--json"]
    assert main(["migrate", tenant_id, "--to", SOURCE, "--wait", *common]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["status"] == "FAILED"
    assert "already lives in us-east-1" in result["error"]
    assert "tenantctl: error: migration" in captured.err

    assert main(["migrate", tenant_id, "--to", TARGET, *common]) == 0
    running = json.loads(capsys.readouterr().out)
    assert running["status"] == "RUNNING"
    started = StartedMigration(
        tenant_id, SOURCE, TARGET, running["migration_id"], running["execution_arn"], running["trace_id"]
    )
    assert wait_for_migration(local.target(), started, 120)["status"] == "SUCCEEDED"
