"""The capacity model (`tenant_pipeline.capacity`) fed by the unit costs this run measured.

Validator CPU per GB comes from the `validation` section (CSV and JSON Lines, best CPU time of
`validate_batches`), loader CPU per item from `loader_write`. This module measures the rest on the
same generated contacts: the `/tmp` the validator's spool takes per input byte, the bytes of a batch
message per row, the migration snapshot's CPU per GB (canonical encoding, gzip, checksum, as
`migration.snapshot` does per chunk), and what validation in legs adds: the key tracker's spill per row
and the CPU of resolving it (`KeyTracker.later_duplicates`, each partition split again as a large
file's are), the CPU of rewriting a spool without its late duplicates (`BatchSpool.exclude`), and a
gzip file's size and decompression CPU per content byte. Then it prints the model's table (1 MB to
50 GB; one big tenant beside 100 small ones) and the figures the goals read: the largest admitted
import for plain CSV (the goal's figure) and for every other format beside it.
"""

from __future__ import annotations

import gzip
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.validation import contact_rows, write_files
from tenant_pipeline.capacity import (
    SIZE_COLUMNS,
    CapacityModel,
    Settings,
    UnitCosts,
    size_rows,
)
from tenant_pipeline.entities import load_entity
from tenant_pipeline.imports.batch_message import BatchHeader
from tenant_pipeline.imports.fanout import BatchSpool
from tenant_pipeline.migration.checksum import ItemChecksum
from tenant_pipeline.migration.item_codec import canonical_line
from tenant_pipeline.store.keys import record_pk
from tenant_pipeline.topology import DEFAULT_BATCH_ROWS, NEW_TENANT_SHARD_COUNT
from tenant_pipeline.validation import KeyTracker, LateDuplicate
from tenantctl.output import table

ROW_BYTES = 200
"""Row size of the model's table: about a contact row of the bench's files."""
BIG_TENANT_ROWS = 50_000_000
BIG_FILE_BYTES = 50e9
SMALL_TENANTS = 100
FLOOD_FILES = 10_000
"""Another tenant's flood of few-row uploads, in front of which a small upload lands."""
SAMPLE_ROWS = 20_000
SPILL_ROWS = 200_000
SPILL_PARTITIONS = 4
SPILL_MAX_KEYS = 32_768
"""A 50 GB file's spill partitions hold about 4M rows each, past the tracker's 262,144 keys, so each is split
once into sub-files of about 60,000 rows: the bench keeps that shape at a smaller scale (4 partitions of
about 50,000 rows, each split once), so that the rows, not the temporary files, set the cost per row."""
REPEAT_EVERY = 100
"""One row in 100 repeats an earlier key: a late duplicate once spilled."""
FORMATS = ("csv", "jsonl", "json", "csv.gz", "jsonl.gz", "json.gz")


def spool_and_message_bytes(rows: int = SAMPLE_ROWS) -> dict[str, float]:
    """`/tmp` per input byte (CSV) and batch-message bytes per row, for generated contacts."""
    entity = load_entity("contacts")
    columns = entity.columns
    with tempfile.TemporaryDirectory() as folder:
        csv_path, _ = write_files(rows, Path(folder), invalid_every=0)
        csv_bytes = csv_path.stat().st_size
    values = [[row.get(column) for column in columns] for row in contact_rows(rows, invalid_every=0)]
    spool = BatchSpool(DEFAULT_BATCH_ROWS)
    spool.add_batch(list(range(2, rows + 2)), values)
    spool.finish()
    header = BatchHeader(
        job_id="j" * 36,
        tenant_id="acme",
        entity="contacts",
        batch_number=1,
        row_count=0,
        columns=tuple(columns),
    )
    message_bytes = 0
    for _, _, rows_json in spool:
        message_bytes += len(header.body(rows_json))
    spool_bytes = spool.size_bytes()
    spool.close()
    return {
        "spool_bytes_per_input_byte": spool_bytes / csv_bytes,
        "batch_message_bytes_per_row": message_bytes / rows,
    }


def snapshot_cpu_s_per_gb(rows: int = SAMPLE_ROWS) -> float:
    items = [
        {
            "pk": {"S": record_pk("acme", "contacts", str(row["id"]), NEW_TENANT_SHARD_COUNT)},
            "sk": {"S": str(row["id"])},
            **{key: {"S": str(value)} for key, value in row.items()},
        }
        for row in contact_rows(rows, invalid_every=0)
    ]
    best, lines = float("inf"), [b""]
    for _ in range(3):
        began = time.process_time()
        checksum, lines = ItemChecksum(), []
        for item in items:
            checksum.add(item)
            lines.append(canonical_line(item))
        gzip.compress(b"".join(lines), mtime=0)
        best = min(best, time.process_time() - began)
    item_bytes = sum(len(line) for line in lines)
    return best / (item_bytes / 1e9)


def _best_cpu_s(work: Any, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.process_time()
        work()
        best = min(best, time.process_time() - began)
    return best


def duplicate_costs(rows: int = SPILL_ROWS) -> dict[str, float]:
    """The tracker's spill bytes per spilled row and the CPU of resolving them into late duplicates."""
    keys = [f"c-{i:09d}" for i in range(rows)]
    for i in range(REPEAT_EVERY // 2, rows, REPEAT_EVERY):
        keys[i] = keys[i - 40]
    expected = sum(1 for i in range(REPEAT_EVERY // 2, rows, REPEAT_EVERY) if i - 40 >= SPILL_MAX_KEYS)
    spilled = rows - SPILL_MAX_KEYS
    best, spill_bytes = float("inf"), 0
    for _ in range(3):
        with KeyTracker(max_keys=SPILL_MAX_KEYS, partitions=SPILL_PARTITIONS) as tracker:
            tracker.check(range(2, rows + 2), keys)
            spill_bytes = sum(piece.seek(0, 2) for _, piece in tracker.spill_pieces())
            began = time.process_time()
            found = sum(1 for _ in tracker.later_duplicates())
            best = min(best, time.process_time() - began)
        if found != expected:
            raise AssertionError(f"later_duplicates found {found} late duplicates, the keys hold {expected}")
    return {"spill_bytes_per_row": spill_bytes / spilled, "resolve_cpu_s_per_spilled_row": best / spilled}


def exclude_cpu_s_per_gb(rows: int = SAMPLE_ROWS) -> float:
    """CPU of `BatchSpool.exclude` rewriting a spool without one row in `REPEAT_EVERY`."""
    columns = load_entity("contacts").columns
    values = [[row.get(column) for column in columns] for row in contact_rows(rows, invalid_every=0)]
    late = [LateDuplicate(line=o + 2, key="k", first_line=1, ordinal=o) for o in range(0, rows, REPEAT_EVERY)]
    best, size = float("inf"), 0
    for _ in range(3):
        with BatchSpool(DEFAULT_BATCH_ROWS) as spool:
            spool.add_batch(list(range(2, rows + 2)), values)
            spool.finish()
            size = spool.size_bytes()
            began = time.process_time()
            removed = spool.exclude(iter(late), lambda _: None)
            best = min(best, time.process_time() - began)
            if removed != len(late) or spool.rows != rows - len(late):
                raise AssertionError(f"exclude removed {removed} rows of {len(late)}")
    return best / (size / 1e9)


def gzip_costs(rows: int = SAMPLE_ROWS) -> dict[str, float]:
    """A gzip file's bytes per content byte (`gzip` at its default level) and gunzip CPU per GB."""
    with tempfile.TemporaryDirectory() as folder:
        csv_path, _ = write_files(rows, Path(folder), invalid_every=0)
        content = csv_path.read_bytes()
    packed = gzip.compress(content, mtime=0)
    unpacked = b""

    def gunzip() -> None:
        nonlocal unpacked
        unpacked = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(packed)

    cpu_s = _best_cpu_s(gunzip)
    if unpacked != content:
        raise AssertionError("gunzip did not give the content back")
    return {
        "gzip_bytes_per_content_byte": len(packed) / len(content),
        "gunzip_cpu_s_per_gb": cpu_s / (len(content) / 1e9),
    }


def run(validation: dict[str, Any], loader: dict[str, Any]) -> dict[str, Any]:
    costs = UnitCosts(
        validate_cpu_s_per_gb={
            "csv": 1000 / validation["csv_validate_mb_per_s"],
            "jsonl": 1000 / validation["jsonl_validate_mb_per_s"],
        },
        load_cpu_s_per_item=loader["loader_cpu_us_per_item"] / 1e6,
        snapshot_cpu_s_per_gb=snapshot_cpu_s_per_gb(),
        exclude_cpu_s_per_gb=exclude_cpu_s_per_gb(),
        source="this `make bench` run",
        **spool_and_message_bytes(),
        **duplicate_costs(),
        **gzip_costs(),
    )
    model = CapacityModel(costs, Settings.shipped())
    print("capacity model (a model: this run's unit costs x AWS's documented quotas, shipped settings):")
    for line in table(size_rows(model, ROW_BYTES), SIZE_COLUMNS):
        print("  " + line)
    mix = model.plan_import(BIG_TENANT_ROWS, ROW_BYTES)
    small = model.plan_import(100, ROW_BYTES, tenants=SMALL_TENANTS)
    migration = model.plan_migration(int(model.largest_migration_items(ROW_BYTES)), ROW_BYTES)
    flood = model.small_upload_wait_beside_flood_s(FLOOD_FILES)
    print(
        f"  one tenant's {BIG_TENANT_ROWS:,} rows beside {SMALL_TENANTS} tenants' 100 rows: big load "
        f"{mix.phases[1].wall_s:,.0f} s; a small import waits {mix.figures['small_tenant_wait_s']:,.1f} s "
        f"(fair queues; {mix.figures['small_tenant_wait_arrival_order_s']:,.0f} s in arrival order); "
        f"the 100 small ones alone {small.wall_s:,.1f} s"
    )
    print(
        f"  a small upload behind another tenant's {FLOOD_FILES:,} small uploads waits "
        f"{flood['shipped']:,.1f} s for its validation ({flood['fair']:,.1f} s fair, "
        f"{flood['arrival']:,.1f} s in arrival order)"
    )
    print(f"  largest migration binds on: {', '.join(p.name + ': ' + p.binding for p in migration.phases)}")
    formats = per_format(model)
    legs = model.validate_phase(BIG_FILE_BYTES, "csv", ROW_BYTES)
    print(
        f"  a {BIG_FILE_BYTES / 1e9:g} GB CSV validates in {legs.legs} legs ("
        + ", ".join(f"{stage.name} {stage.legs}" for stage in legs.stages)
        + f"), {legs.wall_s:,.0f} s, ${legs.cost_usd:,.2f}; its largest use: {legs.binding} "
        f"{legs.usage[legs.binding]:.0%}"
    )
    print("  largest file admitted and validated, by format (content GB; past admission: GB, what binds):")
    for name, figure in formats.items():
        print(
            f"    {name:9} {figure['admitted_gb']:>8,.2f}  {figure['past_admission_gb']:>9,.2f}  "
            f"{figure['past_admission_binds']}"
        )
    print(
        f"  job counting at a job's peak {model.job_batches_per_s(ROW_BYTES):,.0f} batches/s: "
        f"{model.counter_conflict_share(ROW_BYTES):.1%} of transactions conflict on "
        f"{model.settings.job_counter_shards} counter shards "
        f"({model.counter_conflict_share(ROW_BYTES, 1):.0%} on one item)"
    )
    return {
        "unit_costs": costs.to_dict(),
        "largest_admitted_import_gb": formats["csv"]["admitted_gb"],
        "largest_admitted_import_gb_by_format": {name: f["admitted_gb"] for name, f in formats.items()},
        "largest_import_past_admission": formats,
        "validation_50gb_csv": {
            "legs": legs.legs,
            "stage_legs": {stage.name: stage.legs for stage in legs.stages},
            "wall_s": legs.wall_s,
            "cost_usd": legs.cost_usd,
            "largest_use": {legs.binding: legs.usage[legs.binding]},
        },
        "tenant_write_rows_per_s": model.tenant_write_rows_per_s(ROW_BYTES),
        "small_tenant_wait_p99_s": mix.figures["small_tenant_wait_s"],
        "small_tenant_wait_fair_s": mix.figures["small_tenant_wait_fair_s"],
        "small_tenant_wait_arrival_order_s": mix.figures["small_tenant_wait_arrival_order_s"],
        "small_upload_wait_beside_flood_s": flood["shipped"],
        "small_upload_wait_beside_flood_arrival_order_s": flood["arrival"],
        "largest_migration_items": model.largest_migration_items(ROW_BYTES),
        "loader_concurrency_to_fill_table": model.loader_concurrency_to_fill_table(ROW_BYTES),
        "big_tenant_import_wall_s": mix.wall_s,
        "big_tenant_import_cost_usd": mix.cost_usd,
        "job_counter_conflict_share": model.counter_conflict_share(ROW_BYTES),
        "one_item_counter_conflict_share": model.counter_conflict_share(ROW_BYTES, 1),
    }


def per_format(model: CapacityModel) -> dict[str, dict[str, Any]]:
    """Each format's largest admitted file, and, were admission lifted, the largest and what binds past it."""
    unlimited = CapacityModel(
        model.costs,
        replace(
            model.settings,
            max_object_bytes=10**18,
            max_legged_object_bytes=10**18,
            max_decompressed_bytes=10**18,
        ),
    )
    figures = {}
    for name in FORMATS:
        past = unlimited.largest_admitted_import_bytes(ROW_BYTES, name)
        over = unlimited.validate_phase(past * 1.01, name, ROW_BYTES)
        figures[name] = {
            "admitted_gb": model.largest_admitted_import_bytes(ROW_BYTES, name) / 1e9,
            "past_admission_gb": past / 1e9,
            "past_admission_binds": ", ".join(limit for limit, use in over.usage.items() if use > 1),
        }
    return figures
