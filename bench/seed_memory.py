"""`seed_memory_ratio`: the seed's read-and-validate peak RSS ÷ one of our validator invocations', same CSV.

The seed's phase (a child process): the object read whole, `list(csv.DictReader(io.StringIO(data.decode())))`,
then the seed's check on every row. Ours (another child): one invocation of the validate function on
the same CSV in the local AWS's ingest bucket, its notification taken from the ingest queue and handed
over as the event source mapping hands it. The local AWS runs in a third process, so each peak is the
importer's own. Both sides must find the file's valid and invalid rows before the ratio is taken.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import datasets
from bench.harness.local_aws import REGION, LocalAws
from bench.harness.rss import run_in_child
from bench.import_e2e import ImportMismatchError, prepare

TENANT = "bench-memory"


def run_seed_phase(path: str) -> dict[str, int]:
    """Child: the seed's read-and-validate phase, on the file read whole."""
    from bench.seed_importer import check_row

    data = Path(path).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    invalid = sum(1 for row in rows if check_row(row))
    return {"valid": len(rows) - invalid, "invalid": invalid}


def run_validator_invocation() -> dict[str, Any]:
    """Child: one invocation of our validate function on the notification waiting in the ingest queue."""
    from tenant_pipeline import topology
    from tenant_pipeline.store.jobs import JobsLedger
    from tenantctl.local.clients import local_client
    from tenantctl.local.pump import lambda_sqs_record
    from tenantctl.local.runtime import LocalRuntime

    local = json.loads(os.environ["BENCH_LOCAL_AWS"])
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    env: dict[str, str] = local["env"]
    # The notification as S3 queued it; the validator reads it the same from either queue, so the
    # router's hop (which only re-queues it) is left out of the measured invocation.
    ingest = topology.INGEST_QUEUE.queue
    record = lambda_sqs_record(
        _notification(local_client("sqs", REGION, endpoint), env[ingest.env_var]),
        local["queue_arns"][ingest.value],
        REGION,
    )
    runtime = LocalRuntime(REGION, {"AWS_ENDPOINT_URL": endpoint})
    runtime.add_region(REGION, env)
    runtime.invoke(runtime.deployment(topology.IMPORT_VALIDATE, REGION), {"Records": [record]})
    ledger = JobsLedger(env[topology.Resource.JOBS_TABLE.env_var], local_client("dynamodb", REGION, endpoint))
    (job,) = ledger.list_for_tenant(TENANT, limit=1)
    return {"total_rows": job.total_rows, "invalid": job.invalid, "status": job.status.value}


def _notification(sqs: Any, queue_url: str) -> dict[str, Any]:
    """The upload's notification (S3 sends a test event first, when notifications are configured)."""
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        if not messages.get("Messages"):
            raise RuntimeError("no upload notification in the ingest queue")
        message: dict[str, Any] = messages["Messages"][0]
        if "Records" in json.loads(message["Body"]):
            return message


def measure(aws: LocalAws, file_bytes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path, rows = datasets.csv_of_size(Path(tmp) / "contacts.csv", file_bytes)
        valid, invalid = datasets.expected_counts(rows)
        file_mb = path.stat().st_size / 2**20
        seed = run_in_child("bench.seed_memory:run_seed_phase", {"path": str(path)})
        prepare(aws, path, [TENANT])
    if (seed.value["valid"], seed.value["invalid"]) != (valid, invalid):
        raise ImportMismatchError(f"the seed's phase counted {seed.value}, the file has {(valid, invalid)}")
    ours = run_in_child("bench.seed_memory:run_validator_invocation", env=aws.child_env())
    if (ours.value["total_rows"], ours.value["invalid"]) != (rows, invalid):
        raise ImportMismatchError(
            f"the validator counted {ours.value}, the file has {rows} rows, {invalid} bad"
        )
    return {
        "file_mb": file_mb,
        "rows": rows,
        "seed_phase_peak_rss_mb": seed.peak_rss_mb,
        "validator_invocation_peak_rss_mb": ours.peak_rss_mb,
        "validator_invocation_cpu_s": ours.cpu_s,
        "seed_memory_ratio": seed.peak_rss_mb / ours.peak_rss_mb,
    }
