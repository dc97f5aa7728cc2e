"""Export throughput and memory: records/s and peak RSS of one export job on the local AWS (moto).

The local AWS runs in its own process; the store is seeded with N contacts spread over every shard;
then a fresh interpreter runs the export job (the same `ExportRunner` the function runs) for CSV and for
gzip JSON Lines, and reports its wall time and its own peak RSS, so moto's storage of the items is not
counted. moto's DynamoDB serves a `Query` far slower than DynamoDB does (it serialises each item in
Python), so records/s on moto mostly measures moto; the figure that speaks for the export itself is
`export_<fmt>_vs_query_floor`: the export's records/s divided by a bare paginated `Query` of the same
items, measured in the same way in the same run (1.0 = the export costs nothing beyond reading), and
`export_<fmt>_cpu_vs_query_floor`, the exporting process's CPU per record over the bare reader's (each
child's own CPU around the work: moto's work is in another process).
Both runs must export exactly N records and produce a file whose SHA-256 matches the manifest; otherwise
the benchmark fails rather than print a figure.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from bench.harness.local_aws import REGION, local_aws
from bench.harness.rss import run_in_child

TENANT = "bench-export"
SEED_BATCH = 2_000
FORMATS = (("csv", False), ("jsonl", True))


class ExportBenchmarkError(RuntimeError):
    """The export did not produce what the benchmark seeded."""


def run(records: int) -> dict[str, float]:
    """Export `records` contacts in each format; records/s and peak RSS (MiB) of the exporting process."""
    figures: dict[str, float] = {}
    with local_aws() as aws:
        _seed(aws.function_env, aws.client("dynamodb"), records)
        for fmt, gzip in FORMATS:
            label = f"{fmt}.gz" if gzip else fmt
            result = run_in_child(
                "bench.export:export_in_child", {"fmt": fmt, "gzip": gzip}, env=aws.child_env()
            )
            value: dict[str, Any] = result.value
            if value["records"] != records or not value["checksum_ok"]:
                raise ExportBenchmarkError(f"{label}: exported {value['records']} of {records} records")
            figures[f"export_{label}_records_per_s"] = round(records / value["seconds"], 1)
            figures[f"export_{label}_peak_rss_mb"] = round(result.peak_rss_mb, 1)
            figures[f"export_{label}_mb"] = round(value["bytes"] / 2**20, 2)
            figures[f"export_{label}_cpu_us_per_record"] = round(value["cpu_s"] / records * 1e6, 1)
        floor = run_in_child("bench.export:query_floor_in_child", {}, env=aws.child_env())
        if floor.value["records"] != records:
            raise ExportBenchmarkError(f"the bare query read {floor.value['records']} of {records} records")
        floor_rate = records / floor.value["seconds"]
        figures["export_query_floor_records_per_s"] = round(floor_rate, 1)
        floor_cpu = floor.value["cpu_s"] / records * 1e6
        figures["export_query_floor_cpu_us_per_record"] = round(floor_cpu, 1)
        for fmt, gzip in FORMATS:
            label = f"{fmt}.gz" if gzip else fmt
            figures[f"export_{label}_vs_query_floor"] = round(
                figures[f"export_{label}_records_per_s"] / floor_rate, 3
            )
            figures[f"export_{label}_cpu_vs_query_floor"] = round(
                figures[f"export_{label}_cpu_us_per_record"] / floor_cpu, 2
            )
    figures["export_records"] = float(records)
    return figures


def query_floor_in_child() -> dict[str, Any]:
    """In the child: read every item of the entity with paginated `Query`s and nothing else."""
    from tenant_pipeline.aws import AwsClients
    from tenant_pipeline.store.tenant_data import TenantDataStore
    from tenant_pipeline.topology import NEW_TENANT_SHARD_COUNT, Resource

    env = json.loads(os.environ["BENCH_LOCAL_AWS"])["env"]
    clients = AwsClients(region=REGION)
    store = TenantDataStore(env[Resource.TENANT_DATA_TABLE.env_var], clients.dynamodb)
    began, cpu_began = time.perf_counter(), time.process_time()
    count = sum(1 for _ in store.query_items(TENANT, "contacts", NEW_TENANT_SHARD_COUNT))
    return {
        "records": count,
        "seconds": time.perf_counter() - began,
        "cpu_s": time.process_time() - cpu_began,
    }


def _seed(env: dict[str, str], dynamodb: Any, records: int) -> None:
    """Write N contacts as the loader does (typed items, sharded, 25 per BatchWriteItem)."""
    from tenant_pipeline.entities import load_entity
    from tenant_pipeline.imports.items import AttributePlan
    from tenant_pipeline.store.tenant_data import TenantDataStore
    from tenant_pipeline.store.tenants import TenantDirectory
    from tenant_pipeline.topology import NEW_TENANT_SHARD_COUNT, Resource

    TenantDirectory(env[Resource.TENANTS_TABLE.env_var], dynamodb).create(
        TENANT, REGION, shard_count=NEW_TENANT_SHARD_COUNT
    )
    store = TenantDataStore(env[Resource.TENANT_DATA_TABLE.env_var], dynamodb)
    schema = load_entity("contacts")
    plan = AttributePlan.from_schema(schema.columns, schema.raw["properties"], schema.primary_key)
    for start in range(0, records, SEED_BATCH):
        rows = [
            [
                f"c{i:09d}",
                f"user{i}@example.com",
                f"Contact {i}" if i % 50 else f'=HYPERLINK("x","{i}")',
                i % 90,
                "2024-01-02T03:04:05.000Z",
                "GB",
                "a short note, with a comma" if i % 3 == 0 else None,
            ]
            for i in range(start, min(records, start + SEED_BATCH))
        ]
        store.put_items(plan.items(TENANT, "contacts", rows, NEW_TENANT_SHARD_COUNT))


def export_in_child(fmt: str, gzip: bool) -> dict[str, Any]:
    """In the child: run one export job to completion and check its file against its manifest."""
    from tenant_pipeline.aws import AwsClients
    from tenant_pipeline.export import ExportJobs, ExportManifest, ExportRunner
    from tenant_pipeline.store.tenant_data import TenantDataStore
    from tenant_pipeline.store.tenants import TenantDirectory
    from tenant_pipeline.topology import Resource

    env = json.loads(os.environ["BENCH_LOCAL_AWS"])["env"]
    clients = AwsClients(region=REGION)
    bucket = env[Resource.EXPORT_BUCKET.env_var]

    class _NoContinuation:
        def dispatch(self, payload: dict[str, Any]) -> None:
            raise ExportBenchmarkError("the benchmark export should fit one invocation")

    runner = ExportRunner(
        tenants=TenantDirectory(env[Resource.TENANTS_TABLE.env_var], clients.dynamodb),
        store=TenantDataStore(env[Resource.TENANT_DATA_TABLE.env_var], clients.dynamodb),
        jobs=ExportJobs(env[Resource.JOBS_TABLE.env_var], clients.dynamodb),
        s3=clients.s3,
        bucket=bucket,
        continuation=_NoContinuation(),
    )
    began, cpu_began = time.perf_counter(), time.process_time()
    outcome = runner.handle(
        {"tenant_id": TENANT, "entities": ["contacts"], "format": fmt, "gzip": gzip}, lambda: 900_000
    )
    seconds, cpu_s = time.perf_counter() - began, time.process_time() - cpu_began
    manifest_key = outcome.manifest_key or ""
    manifest = ExportManifest.from_json(clients.s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    entry = manifest.file("contacts")
    digest = hashlib.sha256()
    body = clients.s3.get_object(Bucket=bucket, Key=entry.key)["Body"]
    while chunk := body.read(2**20):
        digest.update(chunk)
    return {
        "records": outcome.total_records,
        "seconds": seconds,
        "cpu_s": cpu_s,
        "bytes": entry.bytes,
        "checksum_ok": digest.hexdigest() == entry.sha256 and outcome.status.value == "SUCCEEDED",
    }


if __name__ == "__main__":
    print(json.dumps(run(int(os.environ.get("BENCH_EXPORT_RECORDS", "10000"))), indent=2))
