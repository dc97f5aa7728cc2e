"""The local AWS creates exactly the resources and settings that topology declares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from tenant_pipeline import topology
from tenant_pipeline.topology import Resource
from tenantctl.local.clients import local_client
from tenantctl.local.provision import (
    INGEST_NOTIFICATION_ID,
    RegionResources,
    function_resource,
    provision,
)


@pytest.fixture(scope="module")
def provisioned() -> Iterator[dict[str, RegionResources]]:
    with mock_aws():
        yield {resources.region: resources for resources in provision(None)}


def _client(service: str, region: str) -> Any:
    return local_client(service, region, None)


def test_every_default_region_is_served(provisioned: dict[str, RegionResources]) -> None:
    assert sorted(provisioned) == sorted(topology.DEFAULT_REGIONS)


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
def test_queues_have_topology_settings_and_redrive_to_their_dlq(
    provisioned: dict[str, RegionResources], region: str
) -> None:
    created = provisioned[region]
    sqs = _client("sqs", region)
    for settings in topology.ALL_QUEUES:
        attributes = sqs.get_queue_attributes(
            QueueUrl=created.published[settings.queue], AttributeNames=["All"]
        )["Attributes"]
        dlq_attributes = sqs.get_queue_attributes(
            QueueUrl=created.published[settings.dlq], AttributeNames=["All"]
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert int(attributes["VisibilityTimeout"]) == settings.visibility_timeout_s
        assert int(attributes["MessageRetentionPeriod"]) == settings.retention_s
        assert int(redrive["maxReceiveCount"]) == settings.max_receive_count
        assert redrive["deadLetterTargetArn"] == dlq_attributes["QueueArn"]
        assert int(dlq_attributes["MessageRetentionPeriod"]) == settings.dlq_retention_s
        assert attributes["QueueArn"].endswith(":" + settings.queue.local_name(region))


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
def test_tables_have_topology_keys_and_indexes(provisioned: dict[str, RegionResources], region: str) -> None:
    dynamodb = _client("dynamodb", region)
    for settings in topology.TABLES:
        table = dynamodb.describe_table(TableName=provisioned[region].published[settings.table])["Table"]
        keys = {key["KeyType"]: key["AttributeName"] for key in table["KeySchema"]}
        assert keys == {"HASH": settings.partition_key, "RANGE": settings.sort_key}
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        indexes = {
            index["IndexName"]: (
                {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]},
                index["Projection"]["ProjectionType"],
            )
            for index in table.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {
            index.name: ({"HASH": index.partition_key, "RANGE": index.sort_key}, "ALL")
            for index in settings.indexes
        }


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
def test_ingest_bucket_notifies_the_ingest_queue_under_the_import_prefix(
    provisioned: dict[str, RegionResources], region: str
) -> None:
    created = provisioned[region]
    s3 = _client("s3", region)
    assert {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]} >= {
        bucket.local_name(region) for bucket in topology.BUCKETS
    }
    configuration = s3.get_bucket_notification_configuration(Bucket=created.published[Resource.INGEST_BUCKET])
    (queue_configuration,) = configuration["QueueConfigurations"]
    assert queue_configuration["Id"] == INGEST_NOTIFICATION_ID
    assert queue_configuration["QueueArn"] == created.queue_arns[Resource.INGEST_QUEUE]
    assert queue_configuration["Events"] == ["s3:ObjectCreated:*"]
    rules = queue_configuration["Filter"]["Key"]["FilterRules"]
    assert [(rule["Name"].lower(), rule["Value"]) for rule in rules] == [
        ("prefix", topology.IMPORT_KEY_PREFIX)
    ]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=created.published[Resource.INGEST_BUCKET])
    assert [(rule["Filter"]["Prefix"], rule["Expiration"]["Days"]) for rule in lifecycle["Rules"]] == [
        (topology.BATCHES_KEY_PREFIX, 1)
    ]


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
def test_every_created_resource_is_published_in_ssm(
    provisioned: dict[str, RegionResources], region: str
) -> None:
    ssm = _client("ssm", region)
    created = provisioned[region]
    expected_resources = (
        set(topology.BUCKETS)
        | {table.table for table in topology.TABLES}
        | {queue.queue for queue in topology.ALL_QUEUES}
        | {queue.dlq for queue in topology.ALL_QUEUES}
    )
    assert expected_resources <= set(created.published)
    for resource, value in created.published.items():
        assert ssm.get_parameter(Name=resource.ssm_parameter)["Parameter"]["Value"] == value


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
def test_invokable_functions_are_registered_with_topology_limits(
    provisioned: dict[str, RegionResources], region: str
) -> None:
    lambda_client = _client("lambda", region)
    invokable = [function for function in topology.FUNCTIONS if function_resource(function) is not None]
    assert invokable, "the export function at least is invoked by name"
    for function in invokable:
        resource = function_resource(function)
        assert resource is not None
        configuration = lambda_client.get_function(FunctionName=resource.local_name(region))["Configuration"]
        assert configuration["Timeout"] == function.timeout_s
        assert configuration["MemorySize"] == function.memory_mb
        assert provisioned[region].function_names[configuration["FunctionName"]] == function
