"""`tenantctl plan`: the capacity model for one import, as text and as JSON, with no AWS."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from tenant_pipeline import topology
from tenant_pipeline.capacity import RECORDED_UNIT_COSTS
from tenantctl.cli import main


def test_json_plan_names_each_phase_its_binding_limit_and_says_it_is_a_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "--rows", "1000000", "--row-bytes", "200", "--entity", "contacts", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    assert "model" in plan["model"]
    assert [phase["name"] for phase in plan["phases"]] == ["validate", "load"]
    assert all(phase["binding"] and phase["fits"] for phase in plan["phases"])
    assert plan["unit_costs"] == RECORDED_UNIT_COSTS.to_dict()
    assert plan["figures"]["tenant_write_rows_per_s"] == topology.NEW_TENANT_SHARD_COUNT * 1_000
    assert plan["shard_count"] == topology.NEW_TENANT_SHARD_COUNT


def test_a_legacy_tenants_plan_writes_at_its_eight_shards(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "--rows", "1000000", "--row-bytes", "200", "--shards", "8", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    assert plan["figures"]["tenant_write_rows_per_s"] == 8 * 1_000
    assert main(["plan", "--rows", "10", "--row-bytes", "100", "--shards", "0"]) != 0


def test_a_file_over_the_admitted_size_does_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    # 120 GB of plain CSV: past the 100 GiB admitted for files read in legs
    code = main(["plan", "--rows", "600000000", "--row-bytes", "200"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("This is a model, not a measurement")
    assert "admitted object size" in out
    assert "50 GB" in out  # the table of sizes


def test_unit_costs_come_from_a_bench_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = replace(RECORDED_UNIT_COSTS, validate_cpu_s_per_gb={"csv": 1_000.0, "jsonl": 1_000.0})
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"figures": {"capacity": {"unit_costs": slow.to_dict()}}}))
    code = main(["plan", "--rows", "10000000", "--row-bytes", "200", "--unit-costs", str(results), "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    assert plan["unit_costs"] == slow.to_dict()
    # 2 GB at 1,000 CPU s/GB needs 2,000 s of one vCPU: read in legs of 120 s
    validate = plan["phases"][0]
    assert validate["stages"][0]["name"] == "read"
    assert validate["stages"][0]["legs"] == math.ceil(2_000 / topology.VALIDATION_LEG_READ_S) == 17


def test_unknown_entity_and_bad_numbers_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--rows", "10", "--row-bytes", "100", "--entity", "nope"]) != 0
    assert main(["plan", "--rows", "0", "--row-bytes", "100"]) != 0
    assert "tenantctl: error" in capsys.readouterr().err


def test_plan_shows_a_small_tenants_wait_with_and_without_fair_queues(
    capsys: pytest.CaptureFixture[str],
) -> None:
    waits = {}
    for tenants in ("1", "3"):
        main(["plan", "--rows", "50000000", "--row-bytes", "200", "--tenants", tenants, "--json"])
        waits[tenants] = json.loads(capsys.readouterr().out)["figures"]
    # The shipped queues are fair: the wait is the fair one, whatever the other tenants import
    assert waits["1"]["small_tenant_wait_s"] == waits["1"]["small_tenant_wait_fair_s"] <= 30
    assert waits["3"]["small_tenant_wait_s"] == waits["1"]["small_tenant_wait_s"]
    # In arrival order it would wait for every big tenant's backlog
    assert waits["3"]["small_tenant_wait_arrival_order_s"] > waits["1"]["small_tenant_wait_arrival_order_s"]
    main(["plan", "--rows", "50000000", "--row-bytes", "200"])
    assert "with per-tenant fair queues (shipped)" in capsys.readouterr().out


def test_a_migration_plan_counts_legs_and_names_the_largest_tenant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "--migration", "--rows", "100000000", "--row-bytes", "200", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    assert plan["kind"] == "migration"
    assert [phase["name"] for phase in plan["phases"]] == ["snapshot", "transfer", "load target", "verify"]
    assert all(phase["fits"] for phase in plan["phases"])
    assert plan["figures"]["snapshot_legs"] > 1
    assert plan["largest_migration_items"] >= 100_000_000
    # and the text form says the same
    assert main(["plan", "--migration", "--rows", "100000000", "--row-bytes", "200"]) == 0
    out = capsys.readouterr().out
    assert "leg(s)" in out
    assert "largest tenant that migrates" in out


def test_a_50_gb_csv_plan_shows_its_read_and_finishing_legs_and_the_binding_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "--rows", "250000000", "--row-bytes", "200", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0
    validate = plan["phases"][0]
    # 50 GB at the recorded CSV cost, on one vCPU, in legs that read 120 s each
    read_legs = math.ceil(
        50 * RECORDED_UNIT_COSTS.validate_cpu_s_per_gb["csv"] / topology.VALIDATION_LEG_READ_S
    )
    assert plan["validation_legs"]["read"] == read_legs == validate["stages"][0]["legs"]
    assert plan["validation_legs"]["finishing"] == sum(s["legs"] for s in validate["stages"][1:]) >= 4
    assert [s["name"] for s in validate["stages"]] == ["read", "duplicates", "settle", "verdict", "fan-out"]
    assert validate["binding"] == max(validate["usage"], key=validate["usage"].get)
    by_format = plan["largest_admitted_import_bytes_by_format"]
    assert by_format["csv"] == plan["largest_admitted_import_bytes"] >= 50e9
    assert by_format["json"] == pytest.approx(topology.DEFAULT_MAX_OBJECT_BYTES, rel=0.01)
    main(["plan", "--rows", "250000000", "--row-bytes", "200"])
    out = capsys.readouterr().out
    assert f"validation in {validate['legs']} legs: {read_legs} read" in out
    assert "of plain CSV (read in legs)" in out


def test_a_gzip_file_past_its_decompressed_cap_does_not_fit(capsys: pytest.CaptureFixture[str]) -> None:
    # 5 GB of content: past the 4 GiB a gzip file may decompress to, read in one invocation
    code = main(["plan", "--rows", "25000000", "--row-bytes", "200", "--format", "csv.gz", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 1
    assert plan["phases"][0]["binding"] == "admitted decompressed size"
    assert plan["validation_legs"]["read"] == 1
