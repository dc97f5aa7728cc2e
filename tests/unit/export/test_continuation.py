from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tenant_pipeline.export import ContinuationFailedError, LambdaContinuation

ARN = "arn:aws:lambda:us-east-1:123456789012:function:export"


def lambda_client() -> object:
    return boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_continuation_is_an_asynchronous_invoke_of_the_function() -> None:
    client = lambda_client()
    payload = {"tenant_id": "acme", "job_id": "export-0123456789", "continue": True}
    with Stubber(client) as stub:  # type: ignore[arg-type]
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": ARN, "InvocationType": "Event", "Payload": ANY},
        )
        LambdaContinuation(lambda: client, ARN).dispatch(payload)  # type: ignore[arg-type,return-value]
        stub.assert_no_pending_responses()


class JsonOf:
    """Equal to bytes holding the JSON of `expected`."""

    def __init__(self, expected: object) -> None:
        self.expected = expected

    def __eq__(self, other: object) -> bool:
        return isinstance(other, bytes) and json.loads(other) == self.expected

    __hash__ = None  # type: ignore[assignment]


def test_the_payload_is_the_json_of_the_continuation() -> None:
    client = lambda_client()
    payload = {
        "job_id": "export-0123456789",
        "trace": {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    }
    with Stubber(client) as stub:  # type: ignore[arg-type]
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": ARN, "InvocationType": "Event", "Payload": JsonOf(payload)},
        )
        LambdaContinuation(lambda: client, ARN).dispatch(payload)  # type: ignore[arg-type,return-value]
        stub.assert_no_pending_responses()


def test_a_refused_invoke_is_a_named_failure() -> None:
    client = lambda_client()
    with Stubber(client) as stub:  # type: ignore[arg-type]
        stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded")
        with pytest.raises(ContinuationFailedError, match="TooManyRequestsException"):
            LambdaContinuation(lambda: client, ARN).dispatch({"job_id": "x"})  # type: ignore[arg-type,return-value]
