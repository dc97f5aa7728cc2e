from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.export import handler
from tenant_pipeline.errors import UnknownTenantError
from tests.integration.export.conftest import REGION, ExportWorld, contact


@dataclass
class FakeContext:
    remaining_ms: int = 900_000
    function_name: str = "tenant-pipelines-export-function"
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:123456789012:function:tenant-pipelines-export-function"
    )
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def deployed(world: ExportWorld, monkeypatch: pytest.MonkeyPatch) -> ExportWorld:
    """The function's environment, as the stack sets it."""
    for resource, name in world.names.items():
        monkeypatch.setenv(resource.env_var, name)
    handler.dependencies.reset()
    return world


def test_handler_exports_and_returns_working_presigned_urls(deployed: ExportWorld) -> None:
    deployed.store_records("acme", "contacts", [contact(i) for i in range(25)])
    reply: dict[str, Any] = handler.lambda_handler(
        {"tenant_id": "acme", "entities": ["contacts"], "format": "csv"}, FakeContext()
    )
    assert reply["status"] == "SUCCEEDED"
    assert reply["total_records"] == 25
    (entry,) = reply["files"]
    assert set(reply["urls"]) == {"contacts.csv", "manifest.json"}
    downloaded = requests.get(reply["urls"]["contacts.csv"], timeout=10)
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == entry["sha256"]
    manifest = requests.get(reply["urls"]["manifest.json"], timeout=10).json()
    assert manifest["files"][0]["sha256"] == entry["sha256"]


def test_handler_refuses_an_unknown_tenant(deployed: ExportWorld) -> None:
    with pytest.raises(UnknownTenantError, match="unknown tenant 'ghost'"):
        handler.lambda_handler({"tenant_id": "ghost", "entities": ["contacts"]}, FakeContext())


def test_handler_continues_through_its_own_function(
    deployed: ExportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed.store_records("acme", "contacts", [contact(i) for i in range(5)])
    invoked: list[tuple[str, dict[str, Any]]] = []

    class RecordingContinuation:
        def __init__(self, function_name: str) -> None:
            self.function_name = function_name

        def dispatch(self, payload: dict[str, Any]) -> None:
            invoked.append((self.function_name, payload))

    monkeypatch.setattr(
        handler,
        "continuation_for",
        lambda context, clients: RecordingContinuation(context.invoked_function_arn),
    )
    context = FakeContext(remaining_ms=30_000)
    first = handler.lambda_handler({"tenant_id": "acme", "entities": ["contacts", "orders"]}, context)
    assert first["status"] == "RUNNING"
    ((function, payload),) = invoked
    assert function == context.invoked_function_arn
    second = handler.lambda_handler(payload, FakeContext())
    assert second["status"] == "SUCCEEDED"
    assert [entry["entity"] for entry in second["files"]] == ["contacts", "orders"]


EVENTS = Path(__file__).resolve().parents[2] / "events"


def on_failure_queue_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The SQS event the export-failures queue delivers: Lambda's on-failure record as the body."""
    record = json.loads((EVENTS / "lambda_destination_on_failure.json").read_text())
    record["requestPayload"] = payload
    return {
        "Records": [
            {
                "messageId": "5b1c2d3e-0000-4000-8000-000000000001",
                "receiptHandle": "AQEB-on-failure",
                "body": json.dumps(record),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764158400000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:tenant-pipelines-export-failures-queue",
                "awsRegion": REGION,
            }
        ]
    }


def test_a_continuation_lambda_gave_up_on_ends_its_job_failed_with_the_reason(
    deployed: ExportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an export that continues in an asynchronous invocation of itself
    deployed.store_records("acme", "contacts", [contact(i) for i in range(5)])
    dispatched: list[dict[str, Any]] = []

    class RecordingContinuation:
        def dispatch(self, payload: dict[str, Any]) -> None:
            dispatched.append(payload)

    monkeypatch.setattr(handler, "continuation_for", lambda context, clients: RecordingContinuation())
    first = handler.lambda_handler(
        {"tenant_id": "acme", "entities": ["contacts", "orders"]}, FakeContext(remaining_ms=30_000)
    )
    assert first["status"] == "RUNNING"
    (payload,) = dispatched
    # When every attempt of that invocation fails and Lambda sends its record to the on-failure queue
    reply = handler.lambda_handler(on_failure_queue_event(payload), FakeContext())
    # Then the record is consumed and the job ends FAILED, saying what happened
    assert reply == {"batchItemFailures": []}
    job = deployed.jobs.get(first["job_id"])
    assert job.status.value == "FAILED"
    assert job.error is not None
    assert "failed on every attempt (3 attempts)" in job.error
    assert "Process exited before completing request" in job.error


def test_an_on_failure_record_of_a_finished_export_leaves_it_as_it_is(deployed: ExportWorld) -> None:
    deployed.store_records("acme", "contacts", [contact(i) for i in range(3)])
    done = handler.lambda_handler({"tenant_id": "acme", "entities": ["contacts"]}, FakeContext())
    payload = {"tenant_id": "acme", "job_id": done["job_id"], "continue": True}
    assert handler.lambda_handler(on_failure_queue_event(payload), FakeContext()) == {"batchItemFailures": []}
    assert deployed.jobs.get(done["job_id"]).status.value == "SUCCEEDED"


def test_a_message_that_is_not_an_invocation_record_stays_on_the_queue(deployed: ExportWorld) -> None:
    event = on_failure_queue_event({"tenant_id": "acme", "job_id": "exp-1", "continue": True})
    event["Records"][0]["body"] = json.dumps({"hello": "world"})
    reply = handler.lambda_handler(event, FakeContext())
    assert reply == {"batchItemFailures": [{"itemIdentifier": "5b1c2d3e-0000-4000-8000-000000000001"}]}
