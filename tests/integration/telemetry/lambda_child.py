"""A function's sandbox, as a child process: runs one decorated handler invocation, then ends.

`python -m tests.integration.telemetry.lambda_child SCENARIO [--sigkill]` reads the event as JSON on
stdin and prints the handler's result as JSON. With `--sigkill` the process kills itself with SIGKILL the
moment the handler returns, as a sandbox that is frozen and then reclaimed would end: no atexit hook, no
provider shutdown, no background thread gets another chance to send anything.

Scenarios, one per function of an import job:
- validate: allocate the job's root (joining the uploader's trace from the object metadata), validate in a
  phase span, fan out two batch messages carrying the root's context;
- load: an SQS batch; each message processed in its own consumer span, records counted;
- complete: emit the job's root span and the job's metrics.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from tenant_telemetry import JobTrace, consumer_span, instrument_handler, pipeline_metrics
from tenant_telemetry.metrics import ImportStatus
from tenant_telemetry.propagation import inject_batch_entries, object_context
from tests.unit.telemetry.lambda_shapes import FakeLambdaContext, sqs_record

ROWS_PER_BATCH = 500


@instrument_handler
def validate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = JobTrace.start(
        "data.import", parent=object_context(event["metadata"]), attributes={"tenant.id": "acme"}
    )
    with job.span("data.import.validate", attributes={"tenant.id": "acme"}):
        entries = inject_batch_entries(
            [{"Id": str(i), "MessageBody": json.dumps({"batch": i})} for i in range(2)], context=job.context()
        )
    pipeline_metrics().record_import_errors(3, tenant_id="acme", error_type="validation")
    return {
        "job": job.to_dict(),
        "records": [sqs_record(entry, message_id=f"msg-{i}") for i, entry in enumerate(entries)],
    }


@instrument_handler
def load(event: dict[str, Any], context: Any) -> dict[str, Any]:
    metrics = pipeline_metrics()
    for record in event["Records"]:
        with consumer_span(record, name="data.import.batch"):
            metrics.record_import_records(ROWS_PER_BATCH, tenant_id="acme", status=ImportStatus.SUCCESS)
    return {"batchItemFailures": []}


@instrument_handler
def complete(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job = JobTrace.from_dict(event["job"])
    job.complete(attributes={"import.status": "succeeded"})
    metrics = pipeline_metrics()
    metrics.record_import_duration(1.5, tenant_id="acme", entity_type="contacts")
    metrics.record_import_throughput(666.0, entity_type="contacts")
    metrics.record_export_duration(0.5)
    return {"status": "succeeded"}


HANDLERS = {"validate": validate, "load": load, "complete": complete}


def main() -> None:
    scenario, sigkill = sys.argv[1], "--sigkill" in sys.argv[2:]
    event = json.load(sys.stdin)
    result = HANDLERS[scenario](
        event, FakeLambdaContext(function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    )
    if sigkill:
        os.kill(os.getpid(), signal.SIGKILL)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
