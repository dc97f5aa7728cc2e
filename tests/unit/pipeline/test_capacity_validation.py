"""The capacity model's validation in legs: each limit it checks, on hand-picked unit costs.

Each test computes its figure from the documented quota or the runtime's own unit (the oracle) and checks
the model lands on it: change a limit in the model and the figure moves.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from tenant_pipeline import capacity_validation as cv
from tenant_pipeline import topology
from tenant_pipeline.capacity import RECORDED_UNIT_COSTS, CapacityModel, Phase, Settings
from tenant_pipeline.imports.legs import LegCheckpoint, Stage
from tenant_pipeline.imports.validate import FINISH_RESERVE_S
from tenant_pipeline.validation import ReadCheckpoint
from tenant_pipeline.validation.duplicates import DEFAULT_MAX_KEYS, DEFAULT_PARTITIONS

from . import test_capacity as capacity_costs

COSTS = replace(capacity_costs.COSTS, validate_cpu_s_per_gb={"csv": 50.0, "jsonl": 30.0})
SHIPPED = Settings.shipped()
ROW_BYTES = 200
TMP_BYTES = topology.IMPORT_VALIDATE.ephemeral_storage_mb * 2**20
UNADMITTED = replace(SHIPPED, max_legged_object_bytes=10**18)
"""The shipped settings without admission: what binds next as a file grows."""


def stages(phase: Phase) -> dict[str, Phase]:
    return {stage.name: stage for stage in phase.stages}


def test_a_50_gb_csv_fits_in_read_legs_of_the_shipped_cap_then_finishing_legs() -> None:
    phase = CapacityModel(COSTS, SHIPPED).validate_phase(50e9, "csv", ROW_BYTES)
    assert phase.fits, phase.usage
    by_name = stages(phase)
    assert list(by_name) == ["read", "duplicates", "settle", "verdict", "fan-out"]
    # 50 GB at 50 CPU s/GB on one vCPU is 2,500 s of reading, 120 s a leg
    read_legs = math.ceil(50 * 50 / topology.VALIDATION_LEG_READ_S)
    assert by_name["read"].legs == read_legs == 21
    # a full leg holds 120 s of the file's 2,500: its share of the spool and of the spill (every row past
    # the tracker's keys), in /tmp until its upload
    share = topology.VALIDATION_LEG_READ_S / (50 * 50)
    parts = share * (50e9 * 1.25 + (50e9 / ROW_BYTES - DEFAULT_MAX_KEYS) * 30)
    assert phase.usage["lambda /tmp (read leg)"] == pytest.approx(parts / TMP_BYTES)
    upload_s = parts / cv.ASSUMED_S3_UPLOAD_BYTES_PER_S
    budget_s = topology.IMPORT_VALIDATE.timeout_s - FINISH_RESERVE_S
    assert phase.usage["lambda timeout (read leg)"] == pytest.approx(
        (topology.VALIDATION_LEG_READ_S + upload_s) / budget_s
    )
    # every spill partition in one leg; the fan-out's 500,000 messages, 4 a call, 20 ms each, in legs
    assert by_name["duplicates"].legs == 1
    calls = 50e9 / ROW_BYTES / 500 / (256 * 1024 // (500 * 100 + 4096))
    assert by_name["fan-out"].legs >= math.ceil(calls * cv.ASSUMED_SEND_BATCH_S / budget_s)
    assert phase.legs == sum(stage.legs for stage in phase.stages)
    assert phase.wall_s == pytest.approx(
        sum(stage.wall_s for stage in phase.stages) + (phase.legs - 1) * topology.VALIDATION_HANDOVER_DELAY_S
    )
    assert phase.cost_usd == pytest.approx(sum(stage.cost_usd for stage in phase.stages))


def test_a_read_leg_without_the_cap_holds_more_than_tmp() -> None:
    # Reading until the budget is used (870 s), a leg spools 870 / 50 GB: twice the 10 GiB of /tmp
    uncapped = CapacityModel(COSTS, replace(SHIPPED, validator_leg_read_s=None))
    phase = uncapped.validate_phase(50e9, "csv", ROW_BYTES)
    assert not phase.fits
    share = (topology.IMPORT_VALIDATE.timeout_s - FINISH_RESERVE_S) / (50 * 50)
    assert phase.usage["lambda /tmp (read leg)"] == pytest.approx(
        share * (50e9 * 1.25 + (50e9 / ROW_BYTES - DEFAULT_MAX_KEYS) * 30) / TMP_BYTES
    )
    assert phase.usage["lambda timeout (read leg)"] > 1  # its upload would come after the deadline
    assert uncapped.largest_admitted_import_bytes(ROW_BYTES, "csv") < 50e9


def test_a_small_file_is_read_and_finished_in_one_invocation() -> None:
    phase = CapacityModel(COSTS, SHIPPED).validate_phase(1e9, "csv", ROW_BYTES)
    assert phase.legs == 1 and not phase.stages
    assert phase.fits
    # just past the cap's worth of reading, the same format goes in legs
    cap_bytes = topology.VALIDATION_LEG_READ_S / 50 * 1e9
    over = CapacityModel(COSTS, SHIPPED).validate_phase(cap_bytes * 1.01, "csv")
    assert stages(over)["read"].legs == 2


def test_a_gzip_object_over_5_gib_is_refused_by_admission() -> None:
    model = CapacityModel(COSTS, SHIPPED)
    # 4 bytes of content per gzip byte: 5.5 GiB of object is 22 GiB of content
    content = 5.5 * 2**30 / 0.25
    phase = model.validate_phase(content, "csv.gz", ROW_BYTES)
    assert not phase.fits
    assert phase.usage["admitted object size"] == pytest.approx(5.5 / 5)
    assert phase.usage["admitted decompressed size"] > 1
    # a gzip file is read in one invocation, however large (its finishing may hand over)
    assert phase.legs == 1 or stages(phase)["read"].legs == 1


def test_the_spill_partition_binds_past_admission_where_twice_its_bytes_fill_tmp() -> None:
    model = CapacityModel(COSTS, UNADMITTED)
    # a partition past the tracker's keys is split again: /tmp holds it twice
    rows = DEFAULT_PARTITIONS * TMP_BYTES / (2 * 30) + DEFAULT_MAX_KEYS
    largest = model.largest_admitted_import_bytes(ROW_BYTES, "csv")
    assert largest == pytest.approx(rows * ROW_BYTES, rel=0.01)
    over = model.validate_phase(largest * 1.02, "csv", ROW_BYTES)
    assert [name for name, use in over.usage.items() if use > 1] == ["lambda /tmp (spill partition)"]


def test_the_reports_multipart_parts_bind_when_partitions_are_small() -> None:
    model = CapacityModel(replace(COSTS, spill_bytes_per_row=1.0), UNADMITTED)
    # half the rows invalid (the default limit), 100 bytes of report each, in parts of 64 MiB
    rows = cv.S3_MAX_PARTS * cv.REPORT_PART_BYTES / (topology.DEFAULT_MAX_INVALID_RATIO * 100)
    largest = model.largest_admitted_import_bytes(ROW_BYTES, "csv")
    assert largest == pytest.approx(rows * ROW_BYTES, rel=0.01)
    over = model.validate_phase(largest * 1.02, "csv", ROW_BYTES)
    assert over.binding == "s3 multipart parts (report)"


def test_the_checkpoint_binds_the_number_of_read_legs() -> None:
    # 1 s legs: each reads 20 MB, and the job item lists every leg
    model = CapacityModel(COSTS, replace(UNADMITTED, validator_leg_read_s=1.0))
    fixed = cv.CHECKPOINT_BASE_BYTES + DEFAULT_PARTITIONS * cv.CHECKPOINT_BYTES_PER_PARTITION
    legs = (cv.DYNAMODB_MAX_ITEM_BYTES - fixed) / cv.CHECKPOINT_BYTES_PER_LEG
    largest = model.largest_admitted_import_bytes(ROW_BYTES, "csv")
    assert largest == pytest.approx(legs * 1e9 / 50, rel=0.01)
    assert model.validate_phase(largest * 1.02, "csv").binding == "dynamodb item size (checkpoint)"


def test_a_legs_entry_in_the_checkpoint_is_within_its_modelled_bytes() -> None:
    def checkpoint(legs: int) -> int:
        every_partition = tuple(range(DEFAULT_PARTITIONS))
        saved = LegCheckpoint(
            leg=legs + 1,
            stage=Stage.READ,
            read_point=ReadCheckpoint(offset=10**11, line=10**9, header=("id", "email", "name", "notes")),
            total=10**9,
            invalid=10**8,
            read=10**9,
            keys_passed=10**9,
            keys_spilling=True,
            spilled=tuple((leg, every_partition) for leg in range(1, legs + 1)),
        )
        return len(json.dumps(saved.to_dict()))

    per_leg = checkpoint(11) - checkpoint(10)
    assert per_leg <= cv.CHECKPOINT_BYTES_PER_LEG < 1.5 * per_leg
    assert checkpoint(0) <= cv.CHECKPOINT_BASE_BYTES


def test_largest_plain_import_meets_the_goal_and_the_shipped_admission() -> None:
    model = CapacityModel(RECORDED_UNIT_COSTS, SHIPPED)
    for plain in ("csv", "jsonl"):
        largest = model.largest_admitted_import_bytes(ROW_BYTES, plain)
        assert largest >= 50e9
        assert largest == pytest.approx(topology.DEFAULT_MAX_LEGGED_OBJECT_BYTES, rel=0.01)
