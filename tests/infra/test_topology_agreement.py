"""The local AWS and the CDK app read the same topology: the synthesised template must say what it says."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tests.infra.template_queries import (
    properties,
    published_id,
    referenced_id,
    resources_of_type,
)

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedApp


@pytest.fixture(scope="module", params=topology.DEFAULT_REGIONS)
def region_template(request: pytest.FixtureRequest, synthesized: SynthesizedApp) -> dict[str, Any]:
    return synthesized.template_json(request.param)


@pytest.mark.parametrize("settings", topology.ALL_QUEUES, ids=lambda s: str(s.queue))
def test_queue_settings_match_topology(
    region_template: dict[str, Any], settings: topology.QueueSettings
) -> None:
    queue = properties(region_template, published_id(region_template, settings.queue))
    dlq_id = published_id(region_template, settings.dlq)
    dlq = properties(region_template, dlq_id)

    assert queue["VisibilityTimeout"] == settings.visibility_timeout_s
    assert queue["MessageRetentionPeriod"] == settings.retention_s
    assert queue["RedrivePolicy"]["maxReceiveCount"] == settings.max_receive_count
    assert referenced_id(queue["RedrivePolicy"]["deadLetterTargetArn"]) == dlq_id
    assert dlq["MessageRetentionPeriod"] == settings.dlq_retention_s


@pytest.mark.parametrize(
    "source", (*topology.EVENT_SOURCES, topology.EXPORT_FAILURES_SOURCE), ids=lambda s: s.function.name
)
def test_event_source_mappings_match_topology(
    synthesized: SynthesizedApp, region_template: dict[str, Any], source: topology.EventSourceSettings
) -> None:
    queue_id = published_id(region_template, source.queue.queue)
    mappings = [
        mapping["Properties"]
        for mapping in resources_of_type(region_template, "AWS::Lambda::EventSourceMapping").values()
        if referenced_id(mapping["Properties"]["EventSourceArn"]) == queue_id
    ]
    assert len(mappings) == 1, f"expected one consumer of {source.queue.queue}"
    mapping = mappings[0]
    function_ids = {
        logical_id(function)
        for stack in synthesized.stacks.values()
        for name, function in stack.functions.items()
        if name == source.function.name
    }
    assert referenced_id(mapping["FunctionName"]) in function_ids
    assert mapping["BatchSize"] == source.batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == source.max_batching_window_s
    assert ("ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])) == (
        source.report_batch_item_failures
    )


def test_visibility_timeouts_cover_six_consumer_timeouts(region_template: dict[str, Any]) -> None:
    for source in topology.EVENT_SOURCES:
        queue = properties(region_template, published_id(region_template, source.queue.queue))
        assert queue["VisibilityTimeout"] >= 6 * source.function.timeout_s


@pytest.mark.parametrize("settings", topology.TABLES, ids=lambda s: str(s.table))
def test_tables_match_topology(region_template: dict[str, Any], settings: topology.TableSettings) -> None:
    table = properties(region_template, published_id(region_template, settings.table))

    assert table["KeySchema"] == [
        {"AttributeName": settings.partition_key, "KeyType": "HASH"},
        {"AttributeName": settings.sort_key, "KeyType": "RANGE"},
    ]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in settings.indexes}
    for index in settings.indexes:
        assert indexes[index.name]["KeySchema"] == [
            {"AttributeName": index.partition_key, "KeyType": "HASH"},
            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
        ]
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}
    declared = {attribute["AttributeName"] for attribute in table["AttributeDefinitions"]}
    assert all(attribute["AttributeType"] == "S" for attribute in table["AttributeDefinitions"])
    assert declared == {settings.partition_key, settings.sort_key} | {
        key for index in settings.indexes for key in (index.partition_key, index.sort_key)
    }


def test_functions_match_topology(synthesized: SynthesizedApp) -> None:
    for region, stack in synthesized.stacks.items():
        template = synthesized.template_json(region)
        declared = {settings.name: settings for settings in topology.FUNCTIONS}
        assert stack.functions, "the stack declares no function"
        for name, function in stack.functions.items():
            settings = declared[name]
            function_properties = properties(template, logical_id(function))
            assert function_properties["MemorySize"] == settings.memory_mb
            assert function_properties["Timeout"] == settings.timeout_s
            assert function_properties["Handler"] == settings.handler


def test_every_bucket_and_table_is_published(region_template: dict[str, Any]) -> None:
    for resource in (*topology.BUCKETS, *(settings.table for settings in topology.TABLES)):
        published = published_id(region_template, resource)
        assert region_template["Resources"][published]["Type"] in {"AWS::S3::Bucket", "AWS::DynamoDB::Table"}
