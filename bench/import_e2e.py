"""End-to-end imports on the local AWS: ours through the real handlers, and the seed-style importer.

`seed_importer_speedup` is our rows/s ÷ the seed-style importer's rows/s on the same file and the same
local AWS (each side's peak RSS is printed beside it). Each side runs in its own process against a
freshly reset server process, so each peak RSS is the importer's own. Both
sides start with the file already in the ingest bucket and their clients made (the seed's boto3
clients; our event source pollers, which on AWS are Lambda's and always running); ours ends when the
job is finished in the jobs ledger (polled every `_POLL_S`, by a client whose calls are not counted),
the seed's when its function returns. Before comparing, each side's stored and rejected
rows are checked against the file (and so against each other): the job's counts and the items
actually in the table.

The same child (`run_ours`) drives the load test: many tenants' files imported at once.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import datasets
from bench.harness.cpu import cpu_time
from bench.harness.local_aws import REGION, LocalAws
from bench.harness.requests import count_requests
from bench.harness.rss import peak_rss_mb, run_in_child

ENTITY = "contacts"
_POLL_S = 0.05


def import_key(tenant_id: str, name: str = "contacts.csv") -> str:
    return f"tenants/{tenant_id}/imports/{ENTITY}/{name}"


class ImportMismatchError(AssertionError):
    """A side stored or rejected different rows from what the file holds."""


# -- children ------------------------------------------------------------------------------------
def run_seed(bucket: str, key: str, table_name: str, tenant_id: str) -> dict[str, Any]:
    """Child: the seed-style importer on one object."""
    import boto3

    from bench.seed_importer import configure_metrics, import_object

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    configure_metrics()
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    dynamodb = boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint)
    baseline_rss = peak_rss_mb()
    with cpu_time() as cpu:
        result = import_object(
            s3, dynamodb, bucket=bucket, key=key, table_name=table_name, tenant_id=tenant_id, entity=ENTITY
        )
    return {**result, "wall_s": cpu.wall_s, "cpu_s": cpu.process_s, "baseline_rss_mb": baseline_rss}


def run_ours(tenant_ids: list[str], timeout_s: float = 1800) -> dict[str, Any]:
    """Child: play the event source mappings into our handlers until every tenant's import finishes."""
    from tenant_pipeline import topology
    from tenant_pipeline.store.jobs import JobsLedger
    from tenantctl.local.clients import local_client
    from tenantctl.local.pump import EventSourcePump
    from tenantctl.local.runtime import LocalRuntime

    local = json.loads(os.environ["BENCH_LOCAL_AWS"])
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    env: dict[str, str] = local["env"]
    runtime = LocalRuntime(REGION, {"AWS_ENDPOINT_URL": endpoint})
    runtime.add_region(REGION, env)
    ledger_client = local_client("dynamodb", REGION, endpoint)
    ledger = JobsLedger(env[topology.Resource.JOBS_TABLE.env_var], ledger_client)
    function_cpu: dict[str, float] = {}
    invocations: dict[str, int] = {}
    original_invoke = runtime.invoke
    tally_lock = threading.Lock()

    def _timed_invoke(deployment: Any, event: Any) -> Any:
        start = time.thread_time()
        try:
            return original_invoke(deployment, event)
        finally:
            name, spent = deployment.function.name, time.thread_time() - start
            with tally_lock:  # pollers invoke concurrently
                function_cpu[name] = function_cpu.get(name, 0.0) + spent
                invocations[name] = invocations.get(name, 0) + 1

    runtime.invoke = _timed_invoke  # type: ignore[method-assign]
    source_clients: set[int] = set()
    # Import the handlers before timing: a cold start is measured on its own (cold_start.py).
    for source in topology.EVENT_SOURCES:
        __import__(source.function.module)
    pumps = []
    for source in topology.EVENT_SOURCES:
        sqs = local_client("sqs", REGION, endpoint)
        pumps.append(
            EventSourcePump(
                source=source,
                deployment=runtime.deployment(source.function, REGION),
                runtime=runtime,
                sqs=sqs,
                queue_url=env[source.queue.queue.env_var],
                queue_arn=local["queue_arns"][source.queue.queue.value],
            )
        )
        source_clients.add(id(sqs))
    baseline_rss = peak_rss_mb()
    with count_requests() as tally:
        tally.event_source_clients |= source_clients
        tally.observer_clients.add(id(ledger_client))
        with cpu_time() as cpu:
            for pump in pumps:
                pump.start()
            jobs = _wait_for_jobs(ledger, tenant_ids, time.monotonic() + timeout_s)
        # Outside the timing: the import is over; in-flight deletes are still counted.
        for pump in pumps:
            pump.stop()
        for pump in pumps:
            pump.join(10)
    return {
        "jobs": jobs,
        "wall_s": cpu.wall_s,
        "cpu_s": cpu.process_s,
        "function_cpu_s": function_cpu,
        "invocations": invocations,
        "requests": tally.to_dict(),
        "baseline_rss_mb": baseline_rss,
    }


def _wait_for_jobs(ledger: Any, tenant_ids: list[str], deadline: float) -> list[dict[str, Any]]:
    while True:
        jobs = [job for tenant in tenant_ids for job in ledger.list_for_tenant(tenant, limit=5)]
        if len(jobs) >= len(tenant_ids) and all(job.finished for job in jobs):
            return [job.to_dict() for job in jobs]
        if time.monotonic() > deadline:
            raise TimeoutError(f"imports not finished: {[job.to_dict() for job in jobs]}")
        time.sleep(_POLL_S)


# -- parent side ---------------------------------------------------------------------------------
def prepare(aws: LocalAws, csv_path: Path, tenant_ids: list[str]) -> None:
    """Reset the local AWS, create the tenants, and upload the same file for each of them."""
    from tenant_pipeline import topology
    from tenant_pipeline.store.tenants import TenantDirectory

    aws.reset()
    tenants_table = aws.function_env[topology.Resource.TENANTS_TABLE.env_var]
    directory = TenantDirectory(tenants_table, aws.client("dynamodb"))
    s3 = aws.client("s3")
    bucket = aws.function_env[topology.Resource.INGEST_BUCKET.env_var]
    for tenant in tenant_ids:
        directory.create(tenant, REGION)
        s3.upload_file(str(csv_path), bucket, import_key(tenant))


def check_ours(aws: LocalAws, result: dict[str, Any], tenant_ids: list[str], rows: int) -> None:
    """Every job finished with the file's counts, and the table holds exactly the valid rows."""
    from tenant_pipeline import topology
    from tenant_pipeline.store.tenant_data import TenantDataStore
    from tenant_pipeline.store.tenants import TenantDirectory

    valid, invalid = datasets.expected_counts(rows)
    data_table = aws.function_env[topology.Resource.TENANT_DATA_TABLE.env_var]
    store = TenantDataStore(data_table, aws.client("dynamodb"))
    directory = TenantDirectory(
        aws.function_env[topology.Resource.TENANTS_TABLE.env_var], aws.client("dynamodb")
    )
    for job in result["jobs"]:
        counts = (job["total_rows"], job["stored"], job["invalid"])
        if counts != (rows, valid, invalid):
            expected = (rows, valid, invalid)
            raise ImportMismatchError(f"job {job['job_id']} counted {counts}, the file has {expected}")
    per_tenant = _stored_per_tenant(aws, data_table) if len(tenant_ids) > 1 else None
    for tenant in tenant_ids:
        stored = (
            per_tenant[tenant]
            if per_tenant is not None
            else store.count_entity(tenant, ENTITY, directory.get(tenant).shard_count)
        )
        if stored != valid:
            raise ImportMismatchError(f"{tenant}: table holds {stored} items, the file has {valid} valid")


def _stored_per_tenant(aws: LocalAws, table: str) -> Counter[str]:
    """Items of `ENTITY` per tenant, from one scan of the table.

    One pass instead of a query per tenant and shard: the local AWS (moto) answers every query by walking
    the whole table, which made the many-tenant check take longer than the import it checks."""
    counts: Counter[str] = Counter()
    for page in (
        aws.client("dynamodb").get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk")
    ):
        for item in page.get("Items", []):
            tenant, entity, _shard = item["pk"]["S"].split("#")
            if entity == ENTITY:
                counts[tenant] += 1
    return counts


def _count_seed_items(aws: LocalAws, table: str, tenant_id: str) -> int:
    client = aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"{tenant_id}#{ENTITY}#seed"}},
        "Select": "COUNT",
    }
    total = 0
    while True:
        page = client.query(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def compare(aws: LocalAws, rows: int) -> dict[str, Any]:
    """Both importers on the same `rows`-row CSV: speed and peak RSS ratios, after checking results."""
    from tenant_pipeline import topology

    tenant = "bench-e2e"
    valid, invalid = datasets.expected_counts(rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = datasets.write_csv(Path(tmp) / "contacts.csv", rows)
        file_mb = csv_path.stat().st_size / 2**20
        prepare(aws, csv_path, [tenant])
        ours = run_in_child("bench.import_e2e:run_ours", {"tenant_ids": [tenant]}, env=aws.child_env())
        check_ours(aws, ours.value, [tenant], rows)
        prepare(aws, csv_path, [tenant])
        table = aws.function_env[topology.Resource.TENANT_DATA_TABLE.env_var]
        bucket = aws.function_env[topology.Resource.INGEST_BUCKET.env_var]
        seed = run_in_child(
            "bench.import_e2e:run_seed",
            {"bucket": bucket, "key": import_key(tenant), "table_name": table, "tenant_id": tenant},
            env=aws.child_env(),
        )
    if (seed.value["stored"], seed.value["invalid"]) != (valid, invalid):
        raise ImportMismatchError(f"seed-style importer counted {seed.value}, expected {(valid, invalid)}")
    if (stored := _count_seed_items(aws, table, tenant)) != valid:
        raise ImportMismatchError(f"seed-style importer left {stored} items, the file has {valid} valid rows")
    ours_rps = rows / ours.value["wall_s"]
    seed_rps = rows / seed.value["wall_s"]
    return {
        "rows": rows,
        "file_mb": file_mb,
        "ours_rows_per_s": ours_rps,
        "seed_rows_per_s": seed_rps,
        "ours_peak_rss_mb": ours.peak_rss_mb,
        "seed_peak_rss_mb": seed.peak_rss_mb,
        "ours_rss_above_start_mb": ours.peak_rss_mb - ours.value["baseline_rss_mb"],
        "seed_rss_above_start_mb": seed.peak_rss_mb - seed.value["baseline_rss_mb"],
        "seed_importer_speedup": ours_rps / seed_rps,
        "ours": ours.value,
    }


def load_test(aws: LocalAws, tenants: int, rows_per_tenant: int) -> dict[str, Any]:
    """Many tenants import at once; every job must finish with exact counts. Wall time and rows/s."""
    tenant_ids = [f"load-{index:02d}" for index in range(tenants)]
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = datasets.write_csv(Path(tmp) / "contacts.csv", rows_per_tenant)
        prepare(aws, csv_path, tenant_ids)
    result = run_in_child("bench.import_e2e:run_ours", {"tenant_ids": tenant_ids}, env=aws.child_env())
    check_ours(aws, result.value, tenant_ids, rows_per_tenant)
    total = tenants * rows_per_tenant
    return {
        "tenants": tenants,
        "rows_per_tenant": rows_per_tenant,
        "wall_s": result.value["wall_s"],
        "rows_per_s": total / result.value["wall_s"],
        "jobs_exact": len(result.value["jobs"]),
    }
