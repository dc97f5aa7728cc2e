"""`telemetry_share_of_batch_cpu`: what the spans and metric calls of one 500-record batch cost.

The real loader handler runs on batch messages the real validator produced (one file on the local
AWS, cut into 500-row batches), one batch per invocation, in a child process that exports traces and
metrics over OTLP/HTTP to a do-nothing receiver on loopback (the set-up a deployed function has, flush
before return included). The local AWS runs in its own process, so batch CPU is the function's own.

The share is measured directly: the process CPU spent inside the telemetry calls of each invocation
(starting, annotating and ending spans, recording metrics, and the flush with its export thread; nested
calls counted once) ÷ that invocation's CPU, medians over the steady-state batches. The same run in a
second child with `OTEL_SDK_DISABLED=true` gives the batch CPU without telemetry, printed for comparison
with `telemetry_share_by_difference`: that difference of two medians is what telemetry should cost, but
batch CPU drifts by more than the whole telemetry cost between two runs on a shared machine, so it is
no measure at this scale. The job must end with every valid row stored in both runs.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
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

    meter = TelemetryCpu()
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() != "true":
        meter.install()
    drain(sources[topology.IMPORT_ROUTE.name], runtime.invoke)  # S3's notification to the validation queue
    validations = drain(sources[topology.IMPORT_VALIDATE.name], runtime.invoke)
    batch_cpu: list[float] = []
    telemetry_cpu: list[float] = []

    def timed(deployment: Any, event: Any) -> None:
        meter.spent = 0.0
        start = time.process_time()
        reply = runtime.invoke(deployment, event)
        batch_cpu.append(time.process_time() - start)
        telemetry_cpu.append(meter.spent)
        if reply.get("batchItemFailures"):
            raise RuntimeError(f"loader failed a batch: {reply}")

    drain(sources[topology.IMPORT_LOAD.name], timed)
    jobs = JobsLedger(env[topology.Resource.JOBS_TABLE.env_var], local_client("dynamodb", REGION, endpoint))
    # The first invocation carries the cold start and the last one completes the job: the median is a
    # steady-state batch.
    return {
        "validations": validations,
        "batch_cpu_s": batch_cpu,
        "telemetry_cpu_s": telemetry_cpu,
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
    shares: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, fake_dynamodb() as receiver:
        csv_path = datasets.write_csv(Path(tmp) / "contacts.csv", rows)
        for mode, telemetry_env in (
            (
                "with_telemetry",
                {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint_url, "OTEL_SDK_DISABLED": ""},
            ),
            ("without_telemetry", {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}),
        ):
            medians[mode], telemetry = _run_mode(aws, csv_path, rows, telemetry_env)
            shares += telemetry
        exports = receiver.stats()["otlp_requests"]
    with_t, without_t = medians["with_telemetry"], medians["without_telemetry"]
    return {
        "batch_rows": BATCH_ROWS,
        "batches": batches,
        "batch_cpu_ms_with_telemetry": with_t * 1000,
        "batch_cpu_ms_without_telemetry": without_t * 1000,
        "telemetry_cpu_ms_per_batch": statistics.median(shares) * 1000,
        "otlp_exports": exports,
        "telemetry_share_of_batch_cpu": statistics.median(shares) / with_t,
        "telemetry_share_by_difference": (with_t - without_t) / with_t,
    }


def _run_mode(
    aws: LocalAws, csv_path: Path, rows: int, telemetry_env: dict[str, str]
) -> tuple[float, list[float]]:
    """Median steady-state batch CPU, and the telemetry CPU of those batches (empty without telemetry)."""
    prepare(aws, csv_path, [TENANT])
    env = {**aws.child_env(), **telemetry_env, "OTEL_SERVICE_NAME": "import_load"}
    result = run_in_child("bench.telemetry_share:run_batches", env=env).value
    check_ours(aws, result, [TENANT], rows)
    # The first invocation carries the cold start and the last one completes the job.
    steady = slice(1, -1) if len(result["batch_cpu_s"]) > 2 else slice(None)
    telemetry = result["telemetry_cpu_s"][steady] if any(result["telemetry_cpu_s"]) else []
    return statistics.median(result["batch_cpu_s"][steady]), telemetry


class TelemetryCpu:
    """Process CPU spent inside telemetry calls, nested calls counted once (`spent`, in seconds)."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._depth = threading.local()

    def install(self) -> None:
        """Wrap the SDK's span and metric entry points and the handler's flush, for this process."""
        from opentelemetry import context
        from opentelemetry.sdk import trace as sdk_trace
        from opentelemetry.sdk.metrics._internal import instrument

        from tenant_telemetry import providers

        targets: list[tuple[Any, str]] = [
            (sdk_trace.Tracer, "start_span"),
            (sdk_trace.Tracer, "start_as_current_span"),
            (providers.Telemetry, "flush"),
            (context, "attach"),  # making a span current, and back
            (context, "detach"),
        ]
        targets += [
            (sdk_trace.Span, name)
            for name in ("end", "set_attribute", "set_attributes", "set_status", "add_event", "add_link")
        ]
        targets += [(instrument._Counter, "add"), (instrument._Histogram, "record")]
        for owner, name in targets:
            setattr(owner, name, self._timed(getattr(owner, name)))

    def _timed(self, call: Any) -> Any:
        meter = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(meter._depth, "value", 0)
            meter._depth.value = depth + 1
            start = time.process_time() if depth == 0 else 0.0
            try:
                return call(*args, **kwargs)
            finally:
                meter._depth.value = depth
                if depth == 0:
                    meter.spent += time.process_time() - start

        return timed
