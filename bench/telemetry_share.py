"""`telemetry_share_of_batch_cpu`: what the spans and metric calls of one 500-record batch cost.

The real loader handler runs on batch messages the real validator produced (one file on the local
AWS, cut into 500-row batches), one batch per invocation, in two child processes that differ only in
telemetry: one exports traces and metrics over OTLP/HTTP to a do-nothing receiver on loopback (the
set-up a deployed function has, flush before return included), the other has `OTEL_SDK_DISABLED=true`
(the API's no-op spans). The share is (median batch CPU with telemetry - median without) ÷ median with
telemetry. The local AWS runs in its own process, so batch CPU is the function's own. The job must
end with every valid row stored on both sides before the figures are compared.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.harness import datasets
from bench.harness.fake_dynamodb import fake_dynamodb
from bench.harness.local_aws import REGION, LocalAws
from bench.harness.rss import run_in_child
from bench.import_e2e import check_ours, prepare

BATCH_ROWS = 500
TENANT = "bench-telemetry"


def run_batches() -> dict[str, Any]:
    """Child: validate the uploaded file, then load its batches one invocation each, timing each."""
    from tenant_pipeline import topology
    from tenant_pipeline.store.jobs import JobsLedger
    from tenantctl.local.clients import local_client
    from tenantctl.local.pump import lambda_sqs_record
    from tenantctl.local.runtime import LocalRuntime

    local = json.loads(os.environ["BENCH_LOCAL_AWS"])
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    env: dict[str, str] = local["env"]
    runtime = LocalRuntime(REGION, {"AWS_ENDPOINT_URL": endpoint})
    runtime.add_region(REGION, env)
    sqs = local_client("sqs", REGION, endpoint)
    sources = {source.function.name: source for source in topology.EVENT_SOURCES}

    def drain(source: Any, each: Any) -> int:
        count = 0
        queue_url = env[source.queue.queue.env_var]
        arn = local["queue_arns"][source.queue.queue.value]
        while True:
            reply = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=1,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            if not reply.get("Messages"):
                return count
            message = reply["Messages"][0]
            each(
                runtime.deployment(source.function, REGION),
                {"Records": [lambda_sqs_record(message, arn, REGION)]},
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            count += 1

    validations = drain(sources[topology.IMPORT_VALIDATE.name], runtime.invoke)
    batch_cpu: list[float] = []

    def timed(deployment: Any, event: Any) -> None:
        start = time.process_time()
        reply = runtime.invoke(deployment, event)
        batch_cpu.append(time.process_time() - start)
        if reply.get("batchItemFailures"):
            raise RuntimeError(f"loader failed a batch: {reply}")

    drain(sources[topology.IMPORT_LOAD.name], timed)
    jobs = JobsLedger(env[topology.Resource.JOBS_TABLE.env_var], local_client("dynamodb", REGION, endpoint))
    # The first invocation carries the cold start and the last one completes the job: the median is a
    # steady-state batch.
    return {
        "validations": validations,
        "batch_cpu_s": batch_cpu,
        "jobs": [job.to_dict() for job in jobs.list_for_tenant(TENANT)],
    }


def measure(batches: int, aws: LocalAws | None = None) -> dict[str, Any]:
    """On `aws` when given (each mode starts from a reset of it), else on a local AWS of its own."""
    with ExitStack() as stack:
        if aws is None:
            from bench.harness.local_aws import local_aws

            aws = stack.enter_context(local_aws())
        return _measure(batches, aws)


def _measure(batches: int, aws: LocalAws) -> dict[str, Any]:
    rows = batches * BATCH_ROWS
    medians: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, fake_dynamodb() as receiver:
        csv_path = datasets.write_csv(Path(tmp) / "contacts.csv", rows)
        for mode, telemetry_env in (
            (
                "with_telemetry",
                {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint_url, "OTEL_SDK_DISABLED": ""},
            ),
            ("without_telemetry", {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}),
        ):
            medians[mode] = _run_mode(aws, csv_path, rows, telemetry_env)
        exports = receiver.stats()["otlp_requests"]
    with_t, without_t = medians["with_telemetry"], medians["without_telemetry"]
    return {
        "batch_rows": BATCH_ROWS,
        "batches": batches,
        "batch_cpu_ms_with_telemetry": with_t * 1000,
        "batch_cpu_ms_without_telemetry": without_t * 1000,
        "otlp_exports": exports,
        "telemetry_share_of_batch_cpu": (with_t - without_t) / with_t,
    }


def _run_mode(aws: LocalAws, csv_path: Path, rows: int, telemetry_env: dict[str, str]) -> float:
    prepare(aws, csv_path, [TENANT])
    env = {**aws.child_env(), **telemetry_env, "OTEL_SERVICE_NAME": "import_load"}
    result = run_in_child("bench.telemetry_share:run_batches", env=env).value
    check_ours(aws, result, [TENANT], rows)
    steady = result["batch_cpu_s"][1:-1] or result["batch_cpu_s"]
    return statistics.median(steady)
