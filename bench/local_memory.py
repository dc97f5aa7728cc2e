"""`local_aws_rss_growth`: the local AWS's resident memory after many small imports ÷ after the first 100.

A child process runs the whole local AWS as `tenantctl local up` does (server, pumps, handlers
in-process) and imports small CSV files into it through the ingest bucket, a wave of one file per
tenant at a time, each wave's jobs waited for in the jobs ledger. Its RSS (VmRSS, what it holds now, not
its peak) is read after the first 100 imports, after 500 and 1,000, and after the last; its pace in
imports per minute over the first 100 and over the last 100 says whether it slows down with use.
Every import must end SUCCEEDED with its rows stored, or there is no figure.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness.rss import run_in_child

IMPORTS = 2_000
"""The figure's count; a smaller one is for a quick look only."""
FIRST = 100
CHECKPOINTS = (FIRST, 500, 1_000)
"""Where RSS is read on the way (and after the last import)."""
PACE_OVER = 100
TENANTS = 20
ROWS = 3
WAIT_S = 600.0
_POLL_S = 0.05


class LocalImportError(AssertionError):
    """An import did not end as the file says it should."""


def rss_mb() -> float:
    """What this process holds now (VmRSS), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _csv(wave: int) -> bytes:
    header = "id,email,name,age,created_at,country\n"
    rows = (
        f"w{wave}-{n},p{n}@example.com,Person {n},{20 + n},2024-02-11T09:01:00Z,US\n" for n in range(ROWS)
    )
    return (header + "".join(rows)).encode()


def run_imports(imports: int) -> dict[str, Any]:
    """Child: start the local AWS, import `imports` small files; RSS after the first 100 and the last."""
    from tenant_pipeline.imports.keys import job_id_for
    from tenant_pipeline.imports.object_version import object_version
    from tenant_pipeline.store.jobs import JobsLedger
    from tenant_pipeline.topology import Resource
    from tenantctl.local.clients import local_client
    from tenantctl.local.stack import LocalAws, LocalAwsOptions
    from tenantctl.target import Target

    with tempfile.TemporaryDirectory() as state_dir:
        aws = LocalAws(
            LocalAwsOptions(
                port=0, state_dir=Path(state_dir), function_environment={"POWERTOOLS_LOG_LEVEL": "WARNING"}
            )
        )
        aws.start()
        try:
            target = Target(endpoint_url=aws.endpoint_url, region=aws.primary_region)
            s3 = local_client("s3", aws.primary_region, aws.endpoint_url)
            ledger = JobsLedger(
                target.name(Resource.JOBS_TABLE),
                local_client("dynamodb", aws.primary_region, aws.endpoint_url),
            )
            tenants = [f"mem{n:02d}" for n in range(TENANTS)]
            for tenant in tenants:
                target.directory().create(tenant, aws.primary_region)
            bucket = target.name(Resource.INGEST_BUCKET)
            figures: dict[str, Any] = {"started_rss_mb": rss_mb()}
            rss_at: dict[int, float] = {}
            finished_at = [time.perf_counter()]  # after each wave
            for wave in range(imports // TENANTS):
                jobs = []
                for tenant in tenants:
                    key = f"tenants/{tenant}/imports/contacts/wave-{wave}.csv"
                    put = s3.put_object(Bucket=bucket, Key=key, Body=_csv(wave))
                    jobs.append(
                        job_id_for(bucket, key, object_version(put.get("VersionId"), None) or put["ETag"])
                    )
                for job_id in jobs:
                    _wait_for_job(ledger, job_id)
                finished_at.append(time.perf_counter())
                done = (wave + 1) * TENANTS
                if done in CHECKPOINTS:
                    gc.collect()
                    rss_at[done] = rss_mb()
            gc.collect()
            done = (imports // TENANTS) * TENANTS
            rss_at[done] = rss_mb()
            waves = PACE_OVER // TENANTS
            figures.update(
                imports=done,
                first_imports_rss_mb=rss_at[FIRST],
                all_imports_rss_mb=rss_at[done],
                rss_mb_after_imports=rss_at,
                first_imports_s=finished_at[FIRST // TENANTS] - finished_at[0],
                all_imports_s=finished_at[-1] - finished_at[0],
                imports_per_min_first=PACE_OVER * 60 / (finished_at[waves] - finished_at[0]),
                imports_per_min_last=PACE_OVER * 60 / (finished_at[-1] - finished_at[-1 - waves]),
            )
            return figures
        finally:
            aws.stop()


def _wait_for_job(ledger: Any, job_id: str) -> None:
    """Until the job (named as the pipeline names it, from the object's version) has finished and stored
    its rows. A keyed read: the wait costs the same after 2,000 imports as after one."""
    from tenant_pipeline.errors import UnknownJobError

    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            job = ledger.get(job_id)
        except UnknownJobError:
            job = None  # not created yet
        if job is not None and job.finished:
            if job.status.value != "SUCCEEDED" or job.stored != ROWS:
                raise LocalImportError(f"import {job_id} ended {job.status.value}, {job.stored} stored")
            return
        time.sleep(_POLL_S)
    raise LocalImportError(f"import {job_id} did not finish within {WAIT_S:.0f}s")


def measure(imports: int = IMPORTS) -> dict[str, Any]:
    if imports < 2 * FIRST:
        raise ValueError(f"at least {2 * FIRST} imports, to compare with the first {FIRST}")
    value: dict[str, Any] = run_in_child("bench.local_memory:run_imports", {"imports": imports}).value
    value["local_aws_rss_growth"] = value["all_imports_rss_mb"] / value["first_imports_rss_mb"]
    return value
