"""The alarms' metric filters, run over log lines the code really writes, so the two cannot drift.

The patterns come from the synthesised template; the lines from the domain code logging through the
function logger, exactly as in a deployed function: `JobCompleter.report` for finished import jobs,
and the handlers' batch processor for a partial batch with one failing record.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from infra.constructs.operations import FAILED_JOBS_METRIC, failed_records_metric
from tenant_pipeline import function_logs
from tenant_pipeline.imports.completion import JobCompleter
from tenant_pipeline.store.jobs import Job, JobKind, JobStatus
from tenant_pipeline.topology import IMPORT_LOAD
from tests.infra.filter_patterns import FilterPatternError, compile_pattern
from tests.infra.template_queries import resources_of_type

# -- the evaluator, on the examples of CloudWatch's filter pattern documentation ----------------------
DOC_EVENT = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "123.123.123.123",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
        "bandwidth": 75,
        "latency": 45,
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', True),
        ('{ $.eventType = "Update*" }', True),
        ('{ $.eventType = "update*" }', False),
        ("{ $.sourceIPAddress != 123.123.* }", False),
        ("{ $.sourceIPAddress != 124.* }", True),
        ('{ $.arrayKey[0] = "value" }', True),
        ("{ $.objectList[1].id = 2 }", True),
        ("{ $.SomeObject IS NULL }", True),
        ("{ $.ThisFlag IS TRUE }", True),
        ("{ $.SomeOtherObject NOT EXISTS }", True),
        ("{ $.bandwidth > 75 }", False),
        ("{ $.bandwidth >= 75 && $.latency < 50 }", True),
        ('{ ($.eventType = "Nope") || ($.latency <= 45) }', True),
        ('{ ($.eventType = "UpdateTrail") && (($.latency = 1) || ($.latency = 2)) }', False),
        ('{ $.missing != "x" }', False),
    ],
)
def test_the_evaluator_follows_the_documented_examples(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern)(DOC_EVENT) is expected


def test_the_evaluator_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern('{ $.a = "b" ')
    assert compile_pattern('{ $.a = "b" }')("not json at all") is False


# -- the stack's patterns over the code's own lines ----------------------------------------------------
@pytest.fixture
def function_log(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What a function writes to its log: a function logger made the way each handler makes its own."""
    domain = logging.getLogger("tenant_pipeline")
    saved = (list(domain.handlers), domain.level, domain.propagate)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    # A service of its own: Powertools configures a service's logger once, on the stream of that time.
    function_logs.function_logger(f"log-filter-proof-{request.node.name}")
    yield stream
    domain.handlers, domain.propagate = saved[0], saved[2]
    domain.setLevel(saved[1])


def job(status: JobStatus, job_id: str) -> Job:
    return Job(
        job_id=job_id,
        tenant_id="acme",
        kind=JobKind.IMPORT,
        status=status,
        started_at="2026-12-06T00:00:00Z",
        entity_type="contacts",
        total_rows=10,
        error=None if status is JobStatus.SUCCEEDED else "batch 3 failed 3 times",
    )


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tenant-pipelines-import-batches-queue",
        "awsRegion": "us-east-1",
    }


def stack_pattern(synthesized: Any, stack: Any, metric_name: str) -> str:
    patterns = {
        metric_filter["Properties"]["FilterPattern"]
        for metric_filter in resources_of_type(
            synthesized.template_json(stack.region), "AWS::Logs::MetricFilter"
        ).values()
        if metric_filter["Properties"]["MetricTransformations"][0]["MetricName"] == metric_name
    }
    (pattern,) = patterns
    return str(pattern)


def test_the_failed_jobs_filter_counts_exactly_the_failed_jobs_the_code_logs(
    synthesized: Any, stack: Any, function_log: io.StringIO
) -> None:
    # Given the lines the completer writes for jobs that end each way
    completer = JobCompleter(jobs=None, max_receives=3)  # type: ignore[arg-type]
    for number, status in enumerate(JobStatus):
        if status is not JobStatus.RUNNING:
            completer.report(job(status, f"imp-{number}"))
    lines = function_log.getvalue().splitlines()
    finished = [json.loads(line) for line in lines]
    assert [line["message"] for line in finished] == ["import job finished"] * 4
    # When the stack's FailedJobs filter runs over them
    matches = compile_pattern(stack_pattern(synthesized, stack, FAILED_JOBS_METRIC))
    # Then it counts the FAILED and FAILED_VALIDATION jobs, and nothing else
    counted = [json.loads(line)["status"] for line in lines if matches(line)]
    assert sorted(counted) == ["FAILED", "FAILED_VALIDATION"]
    # And the domain line has the shape of the handler's own Powertools records
    assert {"level", "location", "message", "timestamp", "service", "name"} <= set(finished[0])
    assert finished[0]["service"].startswith("log-filter-proof")
    assert finished[0]["name"] == "tenant_pipeline.imports.completion"


def test_the_failed_records_filter_counts_each_record_failing_inside_a_partial_batch(
    synthesized: Any, stack: Any, function_log: io.StringIO
) -> None:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    # Given a batch of three records of which two fail, processed as the loader's handler does
    processor = BatchProcessor(
        event_type=EventType.SQS,
        raise_on_entire_batch_failure=False,
        logger=function_logs.record_failures_logger(),
    )
    event = {"Records": [sqs_record("m-1", "ok"), sqs_record("m-2", "bad"), sqs_record("m-3", "bad")]}

    def record_handler(record: Any) -> None:
        if record.body == "bad":
            raise ValueError("row 7: unknown column")
        logging.getLogger("tenant_pipeline.imports.load").info("batch stored")

    reply = process_partial_response(event=event, record_handler=record_handler, processor=processor)
    assert reply == {"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]}
    lines = function_log.getvalue().splitlines()
    assert len(lines) == 3
    # When the stack's failed-records filter of the loader runs over the log
    matches = compile_pattern(stack_pattern(synthesized, stack, failed_records_metric(IMPORT_LOAD.name)))
    # Then it counts one per failed record, and not the stored one
    assert [json.loads(line)["message"] for line in lines if matches(line)] == [
        "Record processing exception; skipping this record"
    ] * 2
