"""The import pipeline on moto: resources as the topology declares them, and a queue pump."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import boto3
import pytest
from moto import mock_aws

from tenant_pipeline import topology
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.topology import Resource
from tenant_telemetry.testing import InMemoryTelemetry, in_memory_telemetry

REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context object that handlers read."""

    function_name: str = "handler"
    timeout_ms: float = 60_000
    aws_request_id: str = field(default_factory=lambda: str(uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:handler"
    memory_limit_in_mb: int = 512
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (time.monotonic() - self.started) * 1000)


@dataclass
class Stack:
    """The resources of one region on moto, with the settings functions would receive."""

    clients: AwsClients
    settings: PipelineSettings
    queue_urls: dict[Resource, str]

    @property
    def bucket(self) -> str:
        return self.settings.name(Resource.INGEST_BUCKET)

    def url(self, resource: Resource) -> str:
        return self.queue_urls[resource]


def _create(clients: AwsClients) -> dict[Resource, str]:
    for resource in topology.BUCKETS:
        clients.s3.create_bucket(Bucket=resource.local_name(REGION))
    for table in topology.TABLES:
        kwargs: dict[str, Any] = {
            "TableName": table.table.local_name(REGION),
            "KeySchema": [
                {"AttributeName": table.partition_key, "KeyType": "HASH"},
                {"AttributeName": table.sort_key, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in {table.partition_key, table.sort_key}
                | {n for index in table.indexes for n in (index.partition_key, index.sort_key)}
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in table.indexes
            ]
        clients.dynamodb.create_table(**kwargs)
    urls: dict[Resource, str] = {}
    for queue in topology.QUEUES:
        dlq_url = clients.sqs.create_queue(QueueName=queue.dlq.local_name(REGION))["QueueUrl"]
        dlq_arn = clients.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        urls[queue.dlq] = dlq_url
        urls[queue.queue] = clients.sqs.create_queue(
            QueueName=queue.queue.local_name(REGION),
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                ),
            },
        )["QueueUrl"]
    ingest_arn = clients.sqs.get_queue_attributes(
        QueueUrl=urls[Resource.INGEST_QUEUE], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    clients.s3.put_bucket_notification_configuration(
        Bucket=Resource.INGEST_BUCKET.local_name(REGION),
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": ingest_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": topology.INGEST_NOTIFICATION.filter_rules()}},
                }
            ]
        },
    )
    return urls


def attributes(item: Any) -> dict[str, Any]:
    """A span's or metric point's attributes as a plain dict (the SDK types them loosely)."""
    return dict(item.attributes or {})


def point_values(metric: Any) -> list[tuple[dict[str, Any], Any]]:
    """`(attributes, value)` of each data point of a counter."""
    return [(attributes(point), point.value) for point in metric.data.data_points]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def stack(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Stack:
    clients = AwsClients(region=REGION)
    urls = _create(clients)
    for resource in Resource:
        value = urls.get(resource) or resource.local_name(REGION)
        monkeypatch.setenv(resource.env_var, value)
    return Stack(clients=clients, settings=PipelineSettings.from_env(), queue_urls=urls)


@pytest.fixture
def telemetry() -> Iterator[InMemoryTelemetry]:
    with in_memory_telemetry() as memory:
        yield memory


@pytest.fixture
def dynamodb(stack: Stack) -> Any:
    return stack.clients.dynamodb


@pytest.fixture
def raw_s3(aws_env: None) -> Any:
    return boto3.client("s3", region_name=REGION)
