"""The capacity model: its arithmetic on hand-picked unit costs, and the shipped settings it checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tenant_pipeline import capacity, topology
from tenant_pipeline.capacity import CapacityModel, Settings, UnitCosts
from tenant_pipeline.capacity_validation import ValidationModel
from tenant_pipeline.formats import FileFormat

COSTS = UnitCosts(
    validate_cpu_s_per_gb={"csv": 30.0, "jsonl": 20.0},
    spool_bytes_per_input_byte=1.25,
    batch_message_bytes_per_row=100.0,
    load_cpu_s_per_item=20e-6,
    snapshot_cpu_s_per_gb=20.0,
    spill_bytes_per_row=30.0,
    resolve_cpu_s_per_spilled_row=2e-6,
    exclude_cpu_s_per_gb=4.0,
    gzip_bytes_per_content_byte=0.25,
    gunzip_cpu_s_per_gb=3.0,
)
SHIPPED = Settings.shipped()
# What the validator and the loader had before the model sized them.
UNSIZED = replace(
    SHIPPED,
    validator_memory_mb=512,
    validator_timeout_s=300,
    validator_ephemeral_mb=512,
    loader_max_concurrency=None,
    shard_count=topology.LEGACY_SHARD_COUNT,
)


def test_cpu_share_follows_memory_up_to_one_vcpu() -> None:
    assert capacity.vcpu_share(1769) == 1.0
    assert capacity.vcpu_share(512) == pytest.approx(512 / 1769)
    assert capacity.vcpu_share(10_240) == 1.0  # one Python thread uses one vCPU at most


def test_reading_time_is_cpu_over_the_memory_share() -> None:
    model = ValidationModel(COSTS, replace(SHIPPED, validator_memory_mb=884), capacity.vcpu_share(884))
    csv_s = model.read_s_per_byte(FileFormat.from_key("a.csv")) * 2e9
    assert csv_s == pytest.approx(60 / (884 / 1769))
    # A gzip file adds its decompression; a JSON array is read at JSON Lines' cost
    assert model.read_s_per_byte(FileFormat.from_key("a.csv.gz")) * 2e9 == pytest.approx(66 / (884 / 1769))
    assert model.read_s_per_byte(FileFormat.from_key("a.json")) * 2e9 == pytest.approx(40 / (884 / 1769))


@pytest.mark.parametrize("file_format", ["json", "csv.gz", "jsonl.gz"])
def test_shipped_validator_reads_the_largest_one_invocation_file_in_one_invocation(file_format: str) -> None:
    # a JSON array up to its admitted 5 GiB; a gzip file up to its 4 GiB of content
    gzip = file_format.endswith(".gz")
    size = topology.DEFAULT_MAX_DECOMPRESSED_BYTES if gzip else topology.DEFAULT_MAX_OBJECT_BYTES
    phase = CapacityModel(COSTS, SHIPPED).validate_phase(size, file_format)
    assert phase.fits, phase.usage
    assert phase.legs == 1 and not phase.stages


def test_unsized_validator_fails_well_inside_the_admitted_size_on_tmp() -> None:
    # No spill, so that `/tmp` holds the spool alone: 1.25 bytes per input byte
    model = CapacityModel(replace(COSTS, spill_bytes_per_row=0.0), UNSIZED)
    phase = model.validate_phase(500e6, "csv")
    assert not phase.fits
    assert phase.binding == "lambda /tmp"
    assert model.largest_admitted_import_bytes() == pytest.approx(512 * 2**20 / 1.25, rel=0.01)


def test_largest_admitted_import_is_capped_by_admission_per_format() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    # plain CSV and JSON Lines, read in legs: their own admission, past the goal of 50 GB
    for plain in ("csv", "jsonl"):
        largest = model.largest_admitted_import_bytes(file_format=plain)
        assert largest == pytest.approx(topology.DEFAULT_MAX_LEGGED_OBJECT_BYTES, rel=0.01)
        assert largest <= topology.DEFAULT_MAX_LEGGED_OBJECT_BYTES and largest >= 50e9
    # a JSON array: 5 GiB; a gzip file: its content's cap (4 GiB), before its object's 5 GiB
    assert model.largest_admitted_import_bytes(file_format="json") == pytest.approx(
        topology.DEFAULT_MAX_OBJECT_BYTES, rel=0.01
    )
    gzip = model.largest_admitted_import_bytes(file_format="csv.gz")
    assert gzip == pytest.approx(topology.DEFAULT_MAX_DECOMPRESSED_BYTES, rel=0.01)
    assert model.validate_phase(gzip * 1.02, "csv.gz").binding == "admitted decompressed size"


def test_a_slow_one_invocation_file_meets_the_timeout_less_the_reserve() -> None:
    slow = CapacityModel(replace(COSTS, validate_cpu_s_per_gb={"csv": 400.0, "jsonl": 400.0}), SHIPPED)
    largest = slow.largest_admitted_import_bytes(file_format="json")
    # the reading alone must end before the deadline (900 s less the 30 s reserve), whatever follows it
    assert 450 / 400 * 1e9 < largest < 870 / 400 * 1e9
    over = slow.validate_phase(largest * 1.02, "json")
    assert not over.fits
    assert over.binding.startswith("lambda timeout")


def test_one_tenant_writes_at_its_shards_capacity() -> None:
    assert CapacityModel(COSTS, UNSIZED).tenant_write_rows_per_s(200) == pytest.approx(8_000)
    shipped = CapacityModel(COSTS, SHIPPED).tenant_write_rows_per_s(200)
    assert shipped == pytest.approx(topology.NEW_TENANT_SHARD_COUNT * 1_000)
    # Items over 1 KB take two write units each.
    assert CapacityModel(COSTS, SHIPPED).tenant_write_rows_per_s(1_500) == pytest.approx(shipped / 2)


def test_a_new_tenants_shard_count_meets_the_write_goal_and_the_loaders_keep_up() -> None:
    model = CapacityModel(capacity.RECORDED_UNIT_COSTS, SHIPPED)
    needed = model.shards_for_rate(capacity.TENANT_WRITE_GOAL_ROWS_PER_S)
    assert needed == 25  # 25,000 rows of up to 1 KB: one write unit each, 1,000 per partition
    # The shipped count meets the goal with room to spare, not wastefully (every reader queries each shard)
    assert needed <= topology.NEW_TENANT_SHARD_COUNT < 2 * needed
    assert model.tenant_write_rows_per_s(200) >= capacity.TENANT_WRITE_GOAL_ROWS_PER_S
    # A legacy tenant keeps its 8 shards, and so its 8,000 rows/s
    legacy = CapacityModel(capacity.RECORDED_UNIT_COSTS, replace(SHIPPED, shard_count=8))
    assert legacy.tenant_write_rows_per_s(200) == pytest.approx(8_000)
    # The loaders' MaximumConcurrency writes at the new tenant's full rate
    rate = model.write_rates(200)[capacity.PARTITIONS]
    assert model.loader_concurrency_for_rate(rate) <= topology.LOADER_MAXIMUM_CONCURRENCY


def test_loaders_throttled_by_one_tenants_shards_still_end_well_inside_their_timeout() -> None:
    # Every loader on one tenant offers more than its 32 shards take: the excess is throttled and retried
    model = CapacityModel(capacity.RECORDED_UNIT_COSTS, SHIPPED)
    throttled = model.throttled_loader_invocation(200)
    assert 0 < throttled["throttled_share"] < 0.5
    # An invocation (10 batches of 500 rows) gets 1/35 of 32,000 rows/s: 5,000 rows in under 6 s
    assert throttled["wall_s"] == pytest.approx(10 * 500 / (32_000 / 35))
    assert throttled["timeout_use"] < 0.1
    assert model.load_phase(1_000_000, 200).usage["lambda timeout (loader, throttled)"] < 0.1


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


def test_the_shipped_queues_are_fair_so_a_small_import_waits_one_loader_batch() -> None:
    waits = CapacityModel(COSTS, SHIPPED).small_tenant_wait_s(50_000_000, 200)
    assert waits["shipped"] == waits["fair"] <= 30  # the goal of `small_tenant_wait_p99_s`
    assert waits["arrival"] > 1_000
    # The fair wait is one loader invocation, whatever the size of the big import
    assert CapacityModel(COSTS, SHIPPED).small_tenant_wait_s(5_000_000, 200)["fair"] == waits["fair"]


def test_without_fair_batches_a_small_import_waits_for_every_big_tenants_backlog() -> None:
    unfair = CapacityModel(COSTS, replace(SHIPPED, fair_batches=False))
    one, three = unfair.small_tenant_wait_s(5_000_000, 200), unfair.small_tenant_wait_s(5_000_000, 200, 3)
    assert one["shipped"] == one["arrival"]
    assert three["arrival"] > 2 * one["arrival"]


def test_a_flood_of_uploads_holds_back_a_small_upload_only_without_fair_validation() -> None:
    fair = CapacityModel(COSTS, SHIPPED)
    unfair = CapacityModel(COSTS, replace(SHIPPED, fair_validation=False))
    small, large = (
        fair.small_upload_wait_beside_flood_s(1_000),
        fair.small_upload_wait_beside_flood_s(100_000),
    )
    assert small["shipped"] == small["fair"] < small["arrival"]
    assert large["arrival"] > 5 * large["fair"]
    assert unfair.small_upload_wait_beside_flood_s(1_000)["shipped"] == small["arrival"]


@pytest.mark.parametrize(("work_s", "cap"), [(10.0, 1_000), (5_000.0, 1_000), (50_000.0, 40)])
def test_an_event_source_drains_work_as_it_scales(work_s: float, cap: int) -> None:
    # Oracle: step the documented scaling (5 concurrent, 300 more a minute, up to the cap) a tenth of a
    # second at a time
    done, t = 0.0, 0.0
    while done < work_s:
        done += 0.1 * min(cap, 5 + 300 * t / 60)
        t += 0.1
    assert capacity.scaling_drain_s(work_s, cap) == pytest.approx(t, abs=0.15)


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
    single = CapacityModel(
        COSTS, replace(SHIPPED, migration_state_lists_chunks=False, migration_phases_chunked=False)
    )
    assert single.largest_migration_items() < 200_000_000
    assert single.plan_migration(200_000_000, 200).phases[0].binding == "lambda timeout"


def test_the_shipped_migration_moves_100m_items_in_legs_within_every_documented_limit() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    plan = model.plan_migration(100_000_000, 200)
    assert plan.fits
    snapshot, transfer, load, verify = plan.phases
    # each phase runs in legs of at most the timeout less the reserve, so no invocation meets 900 s
    leg_s = topology.MIGRATION.timeout_s - topology.MIGRATION_LEG_RESERVE_S
    for phase in (snapshot, transfer, verify):
        legs = plan.figures[f"{phase.name}_legs"]
        assert legs == max(1, -(-phase.wall_s // leg_s))
        assert phase.usage["lambda timeout"] <= leg_s / topology.MIGRATION.timeout_s
    assert plan.figures["snapshot_legs"] > 1
    # the parent's history counts a task and a Choice per leg, besides the states outside the loops
    legs = plan.figures["snapshot_legs"] + plan.figures["transfer_legs"] + plan.figures["verify_legs"]
    assert plan.figures["history_events"] == capacity.MIGRATION_FIXED_EVENTS + 7 * legs
    assert load.usage["step functions history"] == plan.figures["history_events"] / 25_000
    # and the other documented limits are far off: the state, a leg's reply, the chunk index, a year
    assert snapshot.usage["step functions payload"] <= 16 * 1024 / (256 * 1024)
    assert snapshot.usage["lambda response"] < 0.01
    assert load.usage["distributed map item file"] < 0.01
    assert load.usage["step functions execution time"] < 0.01


def test_the_largest_shipped_migration_is_bound_by_reading_its_manifest_into_one_leg() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    largest = model.largest_migration_items()
    assert largest >= 100_000_000
    over = model.plan_migration(int(largest * 1.01), 200)
    assert not over.fits
    assert {phase.binding for phase in over.phases if not phase.fits} == {"lambda memory (manifest)"}
    # what binds is the manifest's chunk list: bigger chunks move it
    assert CapacityModel(COSTS, SHIPPED).plan_migration(int(largest * 1.01), 200, chunk_items=2_000).fits


def test_counting_on_the_shipped_counter_shards_rarely_conflicts_where_one_item_mostly_would() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    # The table's 40,000 WCU/s in 500-row batches of 1-WCU rows: 80 batches/s of one job at most
    assert model.job_batches_per_s(200) == pytest.approx(
        capacity.DYNAMODB_TABLE_MAX_WCU / topology.DEFAULT_BATCH_ROWS
    )
    assert model.counter_conflict_share(200) <= capacity.COUNTER_CONFLICT_TARGET
    assert model.counter_conflict_share(200, shards=1) > 0.9
    # Fewer shards than half the shipped count would miss the target
    assert model.counter_conflict_share(200, shards=SHIPPED.job_counter_shards // 2) > (
        capacity.COUNTER_CONFLICT_TARGET
    )


def test_the_shipped_migration_keeps_the_chunk_list_out_of_its_state() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    plan = model.plan_migration(10_000_000, 200)  # 10,000 chunks: about 830 KB as a list
    assert plan.figures["state_bytes"] < 256 * 1024
    assert plan.figures["history_events"] < 25_000
    assert plan.phases[0].usage["step functions payload"] <= 0.0625  # cursors, at most 16 KB
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
