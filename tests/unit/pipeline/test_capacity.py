"""The capacity model: its arithmetic on hand-picked unit costs, and the shipped settings it checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tenant_pipeline import capacity, topology
from tenant_pipeline.capacity import CapacityModel, Settings, UnitCosts

COSTS = UnitCosts(
    validate_cpu_s_per_gb={"csv": 30.0, "jsonl": 20.0},
    spool_bytes_per_input_byte=1.25,
    batch_message_bytes_per_row=100.0,
    load_cpu_s_per_item=20e-6,
    snapshot_cpu_s_per_gb=20.0,
)
SHIPPED = Settings.shipped()
# What the validator and the loader had before the model sized them.
UNSIZED = replace(
    SHIPPED,
    validator_memory_mb=512,
    validator_timeout_s=300,
    validator_ephemeral_mb=512,
    loader_max_concurrency=None,
    shard_count=8,
)


def test_cpu_share_follows_memory_up_to_one_vcpu() -> None:
    assert capacity.vcpu_share(1769) == 1.0
    assert capacity.vcpu_share(512) == pytest.approx(512 / 1769)
    assert capacity.vcpu_share(10_240) == 1.0  # one Python thread uses one vCPU at most


def test_validation_time_is_cpu_over_the_memory_share() -> None:
    model = CapacityModel(COSTS, replace(SHIPPED, validator_memory_mb=884))
    phase = model.validate_phase(2e9, "csv")
    assert phase.wall_s == pytest.approx(60 / (884 / 1769))


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_shipped_validator_admits_the_largest_admitted_object_in_one_invocation(file_format: str) -> None:
    phase = CapacityModel(COSTS, SHIPPED).validate_phase(topology.DEFAULT_MAX_OBJECT_BYTES, file_format)
    assert phase.fits, phase.usage


def test_unsized_validator_fails_well_inside_the_admitted_size_on_tmp() -> None:
    model = CapacityModel(COSTS, UNSIZED)
    phase = model.validate_phase(500e6, "csv")
    assert not phase.fits
    assert phase.binding == "lambda /tmp"
    assert model.largest_admitted_import_bytes() == pytest.approx(512 * 2**20 / 1.25, rel=0.01)


def test_largest_admitted_import_is_capped_by_admission() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    largest = model.largest_admitted_import_bytes()
    assert largest <= topology.DEFAULT_MAX_OBJECT_BYTES
    assert largest == pytest.approx(topology.DEFAULT_MAX_OBJECT_BYTES, rel=0.01)
    slow = CapacityModel(replace(COSTS, validate_cpu_s_per_gb={"csv": 400.0}), SHIPPED)
    assert slow.largest_admitted_import_bytes() == pytest.approx(900 / 400 * 1e9, rel=0.01)
    assert slow.validate_phase(3e9).binding == "lambda timeout"


def test_one_tenant_writes_at_its_shards_capacity() -> None:
    assert CapacityModel(COSTS, UNSIZED).tenant_write_rows_per_s(200) == pytest.approx(8_000)
    shipped = CapacityModel(COSTS, SHIPPED).tenant_write_rows_per_s(200)
    assert shipped == pytest.approx(topology.DEFAULT_SHARD_COUNT * 1_000)
    # Items over 1 KB take two write units each.
    assert CapacityModel(COSTS, SHIPPED).tenant_write_rows_per_s(1_500) == pytest.approx(shipped / 2)


def test_loader_concurrency_reaches_the_table_quota_and_no_further() -> None:
    model = CapacityModel(capacity.RECORDED_UNIT_COSTS, SHIPPED)
    rates = model.write_rates(200, tenants=100)
    loaders = rates["rate: loader concurrency"]
    table = rates["rate: dynamodb table throughput"]
    assert loaders >= table  # the loaders are never what binds a busy table...
    needed = model.loader_concurrency_to_fill_table()
    assert needed <= topology.LOADER_MAXIMUM_CONCURRENCY <= 1.25 * needed  # ...and not many more than needed
    assert capacity.SQS_ESM_MIN_MAXIMUM_CONCURRENCY <= topology.LOADER_MAXIMUM_CONCURRENCY
    assert topology.LOADER_MAXIMUM_CONCURRENCY < capacity.LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY // 10


def test_both_queues_dead_letter_after_at_least_five_receives() -> None:
    assert all(queue.max_receive_count >= 5 for queue in topology.QUEUES)


def test_new_table_ramp_binds_a_big_import_first() -> None:
    # Given a new on-demand table (4,000 WCU/s, doubling each 30 min), when 5M rows load,
    model = CapacityModel(COSTS, SHIPPED)
    phase = model.load_phase(5_000_000, 200)
    # then the table binds most of the time, and the phase is slower than the steady rate alone.
    assert phase.binding == "rate: dynamodb table throughput"
    assert phase.wall_s > 5_000_000 / model.tenant_write_rows_per_s(200)
    assert sum(v for k, v in phase.usage.items() if k.startswith("rate:")) == pytest.approx(1.0)


def test_tenants_share_the_table_but_not_their_partitions() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    one, many = model.write_rates(200, 1), model.write_rates(200, 10)
    key = "rate: dynamodb partitions (shards x 1,000 WCU)"
    assert many[key] == pytest.approx(10 * one[key])
    assert many["rate: dynamodb table throughput"] == one["rate: dynamodb table throughput"]


def test_small_tenant_waits_behind_the_big_backlog_unless_batches_are_fair() -> None:
    waits = CapacityModel(COSTS, SHIPPED).small_tenant_wait_s(50_000_000, 200)
    assert waits["shipped"] > 1_000
    assert waits["fair"] < 30
    fair = CapacityModel(COSTS, replace(SHIPPED, fair_batches=True)).small_tenant_wait_s(50_000_000, 200)
    assert fair["shipped"] == fair["fair"]


def test_batches_over_the_message_size_go_by_claim_check() -> None:
    big_rows = CapacityModel(replace(COSTS, batch_message_bytes_per_row=1_000), SHIPPED)
    phase = big_rows.load_phase(10_000, 1_000)
    assert "claim-check" in phase.note
    assert phase.fits


def test_migration_state_listing_chunks_meets_the_payload_limit_near_3000_chunks() -> None:
    model = CapacityModel(COSTS, replace(SHIPPED, migration_state_lists_chunks=True))
    assert model.plan_migration(3_000_000, 200).fits
    over = model.plan_migration(3_200_000, 200)
    assert not over.fits
    assert over.phases[0].binding == "step functions payload"
    assert model.largest_migration_items() == pytest.approx(256 * 1024 // 83 * 1000, rel=0.01)


def test_migration_with_manifest_key_and_chunked_phases_is_bound_by_nothing_per_invocation() -> None:
    model = CapacityModel(
        COSTS, replace(SHIPPED, migration_state_lists_chunks=False, migration_phases_chunked=True)
    )
    assert model.plan_migration(200_000_000, 200).fits
    # Without chunked phases, the snapshot's single invocation binds instead.
    single = CapacityModel(COSTS, replace(SHIPPED, migration_state_lists_chunks=False))
    assert single.largest_migration_items() < 200_000_000
    assert single.plan_migration(200_000_000, 200).phases[0].binding == "lambda timeout"


def test_the_shipped_migration_keeps_the_chunk_list_out_of_its_state() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    plan = model.plan_migration(10_000_000, 200)  # 10,000 chunks: about 830 KB as a list
    assert plan.figures["state_bytes"] < 256 * 1024
    assert plan.figures["history_events"] < 25_000
    assert plan.phases[0].usage["step functions payload"] < 0.01
    assert model.largest_migration_items() > 256 * 1024 // 83 * 1000


def test_plan_says_it_is_a_model_and_costs_add_up() -> None:
    plan = CapacityModel(COSTS, SHIPPED).plan_import(1_000_000, 200)
    data = plan.to_dict()
    assert "model" in data["model"]
    assert data["cost_usd"] == pytest.approx(sum(p["cost_usd"] for p in data["phases"]))
    # DynamoDB writes alone: a million 1-WCU items at the on-demand price.
    assert plan.cost_usd > 1_000_000 * capacity.DYNAMODB_WRITE_UNIT_USD


def test_unit_costs_round_trip() -> None:
    assert UnitCosts.from_dict(COSTS.to_dict()) == COSTS
