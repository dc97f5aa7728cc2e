"""The local Lambda stand-ins: the event source pump and in-process invocation (via moto's Lambda too)."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from tenant_pipeline.topology import EventSourceSettings, FunctionSettings, QueueSettings, Resource
from tenantctl.local.clients import local_client
from tenantctl.local.pump import EventSourcePump, PumpSettings, failed_message_ids, lambda_sqs_record
from tenantctl.local.runtime import LocalRuntime, OnFailure, lambda_service
from tests.unit.tenantctl import recording_handler, shared_record

REGION = "us-east-1"


@dataclass(frozen=True)
class RecordingFunction(FunctionSettings):
    """A function whose code is the recording handler of these tests."""

    @property
    def module(self) -> str:
        return recording_handler.__name__


FUNCTION = RecordingFunction(name="recording", memory_mb=256, timeout_s=30)
QUEUE = QueueSettings(
    queue=Resource.BATCHES_QUEUE, dlq=Resource.BATCHES_DLQ, visibility_timeout_s=180, max_receive_count=2
)
SOURCE = EventSourceSettings(queue=QUEUE, function=FUNCTION, batch_size=10, max_batching_window_s=0)


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    recording_handler.CALLS.clear()
    shared_record.EVENTS.clear()
    shared_record.GATE.clear()
    shared_record.ENTERED.clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(REGION, {"RECORDING_MARKER": "base"})
    runtime.add_region(REGION, {"RECORDING_MARKER": "us"})
    runtime.add_region("eu-west-1", {"RECORDING_MARKER": "eu"})
    yield runtime
    runtime.close()


def _queue_pair(sqs: Any) -> tuple[str, str, str]:
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": QUEUE.max_receive_count})
    queue_url = sqs.create_queue(QueueName="source", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return queue_url, queue_arn, dlq_url


def _pump(runtime: LocalRuntime, sqs: Any, queue_url: str, queue_arn: str) -> EventSourcePump:
    return EventSourcePump(
        source=SOURCE,
        deployment=runtime.deployment(FUNCTION, REGION, "recording-fn"),
        runtime=runtime,
        sqs=sqs,
        queue_url=queue_url,
        queue_arn=queue_arn,
        settings=PumpSettings(retry_visibility_timeout_s=0, poll_wait_s=0),
    )


def _count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_pump_builds_the_lambda_sqs_event_and_invokes_in_process(aws: None, runtime: LocalRuntime) -> None:
    # Given a message with a trace context attribute
    sqs = local_client("sqs", REGION, None)
    queue_url, queue_arn, _ = _queue_pair(sqs)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody="ok",
        MessageAttributes={"traceparent": {"DataType": "String", "StringValue": traceparent}},
    )
    pump = _pump(runtime, sqs, queue_url, queue_arn)

    # When the pump delivers one batch
    pump.deliver(pump.receive_batch())

    # Then the handler saw Lambda's record shape, its context and its region's environment
    (call,) = recording_handler.CALLS
    (record,) = call["event"]["Records"]
    assert record["body"] == "ok"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue_arn
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["traceparent"] == {
        "stringValue": traceparent,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert call["function_name"] == "recording-fn"
    assert 0 < call["remaining_ms"] <= FUNCTION.timeout_s * 1000
    assert (call["region"], call["marker"]) == (REGION, "us")
    # and the success was deleted
    assert _count(sqs, queue_url) == 0


def test_reported_failures_return_until_redriven_to_the_dlq(aws: None, runtime: LocalRuntime) -> None:
    sqs = local_client("sqs", REGION, None)
    queue_url, queue_arn, dlq_url = _queue_pair(sqs)
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    pump = _pump(runtime, sqs, queue_url, queue_arn)

    # First delivery: three records, one reported failed
    pump.deliver(pump.receive_batch())
    assert sorted(record["body"] for record in recording_handler.CALLS[0]["event"]["Records"]) == [
        "fail",
        "ok-1",
        "ok-2",
    ]
    # Second delivery: only the failed one, received a second time
    pump.deliver(pump.receive_batch())
    (retried,) = recording_handler.CALLS[1]["event"]["Records"]
    assert (retried["body"], retried["attributes"]["ApproximateReceiveCount"]) == ("fail", "2")
    # Third receive: max receives reached, SQS moves it to the DLQ instead of delivering it
    assert pump.receive_batch() == []
    assert len(recording_handler.CALLS) == 2
    assert _count(sqs, queue_url) == 0
    assert _count(sqs, dlq_url) == 1


def test_a_raising_handler_leaves_the_whole_batch(aws: None, runtime: LocalRuntime) -> None:
    sqs = local_client("sqs", REGION, None)
    queue_url, queue_arn, _ = _queue_pair(sqs)
    for body in ("ok", "raise"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    pump = _pump(runtime, sqs, queue_url, queue_arn)

    pump.deliver(pump.receive_batch())

    assert _count(sqs, queue_url) == 2


def test_unknown_item_identifier_fails_the_whole_batch() -> None:
    records = [{"messageId": "a"}, {"messageId": "b"}]
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, records) == {"b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, records) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, records) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": []}, records) == set()
    assert failed_message_ids(None, records) == set()


def test_binary_message_attributes_are_base64_in_the_lambda_record() -> None:
    message = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": "b",
        "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }
    record = lambda_sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


def _register_function(region: str, name: str) -> str:
    iam = local_client("iam", region, None)
    role = iam.create_role(RoleName=f"role-{region}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("handler.py", "")
    return str(
        local_client("lambda", region, None).create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]
    )


def test_lambda_invoke_of_a_registered_function_runs_in_process_per_region(
    aws: None, runtime: LocalRuntime
) -> None:
    _register_function("eu-west-1", "recording-fn")
    runtime.register(FUNCTION, "eu-west-1", "recording-fn")
    lambda_client = local_client("lambda", "eu-west-1", None)

    with lambda_service(runtime):
        reply = lambda_client.invoke(FunctionName="recording-fn", Payload=json.dumps({"hello": "world"}))
        failed = lambda_client.invoke(FunctionName="recording-fn", Payload=json.dumps({"raise": "boom"}))

    assert json.loads(reply["Payload"].read()) == {
        "echo": {"hello": "world"},
        "region": "eu-west-1",
        "marker": "eu",
    }
    assert "FunctionError" in failed
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("PoisonMessageError", "boom")
    # A second region runs its own copy of the module, as a separate deployment would
    assert recording_handler.CALLS == []


def test_an_event_invoke_answers_at_once_and_runs_until_the_service_stops(
    aws: None, runtime: LocalRuntime
) -> None:
    _register_function(REGION, "recording-fn")
    runtime.register(FUNCTION, REGION, "recording-fn")
    lambda_client = local_client("lambda", REGION, None)

    with lambda_service(runtime):
        # The handler waits for the gate that the test opens only once the invoke has answered
        reply = lambda_client.invoke(
            FunctionName="recording-fn", InvocationType="Event", Payload=json.dumps({"await_gate": True})
        )
        shared_record.GATE.set()
    # Leaving the service waited for the background invocation

    assert reply["StatusCode"] == 202
    events = list(shared_record.EVENTS)
    assert events == [{"await_gate": True, "gate_opened": True}]


def test_a_function_that_continues_itself_asynchronously_runs_each_continuation(
    aws: None, runtime: LocalRuntime
) -> None:
    _register_function(REGION, "recording-fn")
    runtime.register(FUNCTION, REGION, "recording-fn")
    lambda_client = local_client("lambda", REGION, None)

    with lambda_service(runtime):
        first = lambda_client.invoke(FunctionName="recording-fn", Payload=json.dumps({"chain": 2}))
        answered = json.loads(first["Payload"].read())

    # Each continuation ran (in whichever execution environment was free), with its region's environment
    assert answered["echo"] == {"chain": 2}
    events = list(shared_record.EVENTS)
    assert events == [{"chain": n, "marker": "us"} for n in (2, 1, 0)]


def test_step_functions_tasks_call_registered_functions_in_process(aws: None, runtime: LocalRuntime) -> None:
    arn = _register_function(REGION, "recording-fn")
    runtime.register(FUNCTION, REGION, "recording-fn")
    definition = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": arn, "End": True}},
    }
    sfn = local_client("stepfunctions", REGION, None)
    machine = sfn.create_state_machine(
        name="calls-recording",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]

    with lambda_service(runtime):
        execution = sfn.start_execution(stateMachineArn=machine, name="one", input=json.dumps({"step": 1}))
        result = _wait_execution(sfn, execution["executionArn"])

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"echo": {"step": 1}, "region": REGION, "marker": "us"}
    assert len(recording_handler.CALLS) == 1


def _wait_execution(sfn: Any, arn: str) -> dict[str, Any]:
    for _ in range(200):
        description: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.05)
    final: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    return final


def test_a_failed_event_invoke_is_retried_then_its_record_goes_to_the_on_failure_destination(
    aws: None,
    runtime: LocalRuntime,
) -> None:
    _register_function(REGION, "recording-fn")
    deployment = runtime.register(FUNCTION, REGION, "recording-fn")
    delivered: list[dict[str, Any]] = []
    runtime.set_on_failure(deployment, OnFailure(retries=2, destination=delivered.append))

    # When an asynchronous invocation fails on every attempt
    runtime.invoke_in_background(deployment, json.dumps({"raise": "still broken"}))
    runtime.join_background()

    # Then Lambda's retries ran, and the destination got the invocation record in Lambda's shape
    assert len(recording_handler.CALLS) == 3
    (record,) = delivered
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"] == f"{deployment.arn}:$LATEST"
    assert record["requestPayload"] == {"raise": "still broken"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "PoisonMessageError"
    assert record["responsePayload"]["errorMessage"] == "still broken"


def test_a_successful_event_invoke_sends_no_record(aws: None, runtime: LocalRuntime) -> None:
    _register_function(REGION, "recording-fn")
    deployment = runtime.register(FUNCTION, REGION, "recording-fn")
    delivered: list[dict[str, Any]] = []
    runtime.set_on_failure(deployment, OnFailure(retries=2, destination=delivered.append))
    runtime.invoke_in_background(deployment, json.dumps({"chain": 0}))
    runtime.join_background()
    assert len(recording_handler.CALLS) == 1
    assert delivered == []


def test_a_thread_reading_the_environment_while_an_invocation_ends_reads_every_name_it_listed(
    runtime: LocalRuntime,
) -> None:
    # Given an invocation under way, with its function's environment in the process
    before = dict(os.environ)
    deployment = runtime.deployment(FUNCTION, REGION, "recording-fn")
    invocation = threading.Thread(target=runtime.invoke, args=(deployment, {"await_gate": True}))
    invocation.start()
    try:
        assert shared_record.ENTERED.wait(30)
        # and another thread reading the environment as urllib's proxy lookup does (botocore runs it for
        # every new client, moto's Step Functions tasks too): the names are listed first, then read
        reading = iter(os.environ.items())
        next(reading)
    finally:
        shared_record.GATE.set()
        invocation.join()
    # When it reads on after the invocation has ended, every name it listed is still there
    assert dict(reading)["RECORDING_MARKER"] == "us"
    # and once the runtime is closed, the process has its own environment back
    runtime.close()
    assert dict(os.environ) == before
