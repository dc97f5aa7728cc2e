"""Ingest bucket notifications, the queues and the route/validate/load functions with their permissions."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tests.infra.template_queries import (
    actions_on,
    as_list,
    policy_statements_of_role,
    properties,
    published_id,
    referenced_id,
    resource_refs,
    resources_of_type,
)

Resource = topology.Resource


@pytest.fixture(scope="module")
def template_json(synthesized: Any, stack: Any) -> dict[str, Any]:
    return dict(synthesized.template_json(stack.region))


def role_of(template_json: dict[str, Any], function: Any) -> str:
    return referenced_id(properties(template_json, logical_id(function))["Role"])


def test_object_created_under_tenants_prefix_goes_to_the_ingest_queue(template_json: dict[str, Any]) -> None:
    notifications = resources_of_type(template_json, "Custom::S3BucketNotifications")
    assert len(notifications) == 1
    props = next(iter(notifications.values()))["Properties"]
    assert referenced_id(props["BucketName"]) == published_id(template_json, Resource.INGEST_BUCKET)
    (config,) = props["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "tenants/"}]}}
    assert config["Filter"]["Key"]["FilterRules"] == topology.INGEST_NOTIFICATION.filter_rules()
    assert referenced_id(config["QueueArn"]) == published_id(template_json, Resource.INGEST_QUEUE)


def test_s3_may_send_to_the_ingest_queue_only_from_the_ingest_bucket(template_json: dict[str, Any]) -> None:
    queue_id = published_id(template_json, Resource.INGEST_QUEUE)
    statements = [
        statement
        for policy in resources_of_type(template_json, "AWS::SQS::QueuePolicy").values()
        if queue_id in {referenced_id(q) for q in as_list(policy["Properties"]["Queues"])}
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]
    (statement,) = statements
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert referenced_id(statement["Condition"]["ArnLike"]["aws:SourceArn"]) == published_id(
        template_json, Resource.INGEST_BUCKET
    )


def test_every_mapping_reports_batch_item_failures(template_json: dict[str, Any]) -> None:
    mappings = resources_of_type(template_json, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == len((*topology.EVENT_SOURCES, topology.EXPORT_FAILURES_SOURCE))
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_queue_has_a_redrive_policy_to_its_own_dlq(template_json: dict[str, Any]) -> None:
    for settings in topology.QUEUES:
        redrive = properties(template_json, published_id(template_json, settings.queue))["RedrivePolicy"]
        assert referenced_id(redrive["deadLetterTargetArn"]) == published_id(template_json, settings.dlq)
        assert "RedrivePolicy" not in properties(template_json, published_id(template_json, settings.dlq))


def written_patterns(template_json: dict[str, Any], function: Any) -> list[str]:
    """The ingest-bucket key patterns `function` may put objects under."""
    statements = policy_statements_of_role(template_json, role_of(template_json, function))
    bucket = published_id(template_json, Resource.INGEST_BUCKET)
    return [
        resource["Fn::Join"][1][-1].lstrip("/")
        for statement in statements
        if bucket in resource_refs(statement) and "s3:PutObject" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
        if "Fn::Join" in resource
    ]


def test_validate_writes_only_reports_and_batches_and_neither_notifies(
    template_json: dict[str, Any], stack: Any
) -> None:
    written = written_patterns(template_json, stack.imports.validate)
    assert sorted(written) == ["batches/*", "reports/*"]
    # Nothing the pipeline may write matches the notification's filter, so nothing triggers itself.
    notified = topology.INGEST_NOTIFICATION
    assert not any(pattern.startswith(notified.prefix) for pattern in written)
    assert written_patterns(template_json, stack.imports.load) == []


def test_claim_check_batches_expire_after_a_day(template_json: dict[str, Any]) -> None:
    bucket = properties(template_json, published_id(template_json, Resource.INGEST_BUCKET))
    expiring = [
        (rule.get("Prefix"), rule["ExpirationInDays"])
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "ExpirationInDays" in rule
    ]
    assert expiring == [(topology.BATCHES_KEY_PREFIX, 1)]


def test_validate_permissions(template_json: dict[str, Any], stack: Any) -> None:
    statements = policy_statements_of_role(template_json, role_of(template_json, stack.imports.validate))
    tenants = actions_on(statements, published_id(template_json, Resource.TENANTS_TABLE))
    jobs = actions_on(statements, published_id(template_json, Resource.JOBS_TABLE))
    batches = actions_on(statements, published_id(template_json, Resource.BATCHES_QUEUE))

    assert "dynamodb:GetItem" in tenants and "dynamodb:PutItem" not in tenants
    assert {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"} <= jobs
    assert "sqs:SendMessage" in batches
    assert actions_on(statements, published_id(template_json, Resource.TENANT_DATA_TABLE)) == set()


def test_load_permissions(template_json: dict[str, Any], stack: Any) -> None:
    statements = policy_statements_of_role(template_json, role_of(template_json, stack.imports.load))
    bucket = actions_on(statements, published_id(template_json, Resource.INGEST_BUCKET))
    tenant_data = actions_on(statements, published_id(template_json, Resource.TENANT_DATA_TABLE))
    jobs = actions_on(statements, published_id(template_json, Resource.JOBS_TABLE))

    assert "s3:GetObject*" in bucket and not any(action.startswith("s3:Put") for action in bucket)
    assert tenant_data == {"dynamodb:BatchWriteItem"}  # puts only: no update, delete or read
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"} <= jobs
    assert not jobs & {"dynamodb:Scan", "dynamodb:DeleteItem"}
    assert actions_on(statements, published_id(template_json, Resource.BATCHES_QUEUE)) >= {
        "sqs:ReceiveMessage"
    }
    assert "sqs:SendMessage" not in actions_on(
        statements, published_id(template_json, Resource.BATCHES_QUEUE)
    )


def test_the_dead_letter_reconciler_runs_on_its_schedule_and_never_deletes_a_dead_letter(
    template_json: dict[str, Any], stack: Any
) -> None:
    function = stack.imports.reconciler.function
    rules = [
        rule
        for rule in template_json["Resources"].values()
        if rule["Type"] == "AWS::Events::Rule"
        and any(
            referenced_id(target["Arn"]) == logical_id(function) for target in rule["Properties"]["Targets"]
        )
    ]
    assert [rule["Properties"]["ScheduleExpression"] for rule in rules] == [
        f"rate({topology.DEAD_LETTER_SCHEDULE.every_minutes} minute)"
    ]
    variables = properties(template_json, logical_id(function))["Environment"]["Variables"]
    assert referenced_id(variables[Resource.BATCHES_DLQ.env_var]) == published_id(
        template_json, Resource.BATCHES_DLQ
    )
    statements = policy_statements_of_role(template_json, role_of(template_json, function))
    dlq = actions_on(statements, published_id(template_json, Resource.BATCHES_DLQ))
    assert dlq == {
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
    }  # redrive needs the messages
    assert actions_on(statements, published_id(template_json, Resource.BATCHES_QUEUE)) == set()


def test_functions_receive_the_names_they_use(template_json: dict[str, Any], stack: Any) -> None:
    route = properties(template_json, logical_id(stack.imports.route))["Environment"]["Variables"]
    validate = properties(template_json, logical_id(stack.imports.validate))["Environment"]["Variables"]
    load = properties(template_json, logical_id(stack.imports.load))["Environment"]["Variables"]

    assert referenced_id(route[Resource.VALIDATION_QUEUE.env_var]) == published_id(
        template_json, Resource.VALIDATION_QUEUE
    )
    assert referenced_id(validate[Resource.INGEST_BUCKET.env_var]) == published_id(
        template_json, Resource.INGEST_BUCKET
    )
    assert referenced_id(validate[Resource.BATCHES_QUEUE.env_var]) == published_id(
        template_json, Resource.BATCHES_QUEUE
    )
    assert referenced_id(load[Resource.TENANT_DATA_TABLE.env_var]) == published_id(
        template_json, Resource.TENANT_DATA_TABLE
    )
    assert referenced_id(load[Resource.JOBS_TABLE.env_var]) == published_id(
        template_json, Resource.JOBS_TABLE
    )


def test_queues_dead_letter_after_at_least_five_receives(template_json: dict[str, Any]) -> None:
    for settings in topology.QUEUES:
        redrive = properties(template_json, published_id(template_json, settings.queue))["RedrivePolicy"]
        assert redrive["maxReceiveCount"] >= 5


def test_loader_mapping_caps_its_concurrency(template_json: dict[str, Any]) -> None:
    # Given the batches queue's mapping, when synthesized, then it runs at most the topology's loaders
    queue_id = published_id(template_json, Resource.BATCHES_QUEUE)
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template_json, "AWS::Lambda::EventSourceMapping").values()
        if referenced_id(m["Properties"]["EventSourceArn"]) == queue_id
    ]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": topology.LOADER_MAXIMUM_CONCURRENCY}


def test_validator_has_the_memory_time_and_tmp_the_largest_file_needs(
    template_json: dict[str, Any], stack: Any
) -> None:
    props = properties(template_json, logical_id(stack.imports.validate))
    assert props["MemorySize"] == topology.IMPORT_VALIDATE.memory_mb
    assert props["Timeout"] == topology.IMPORT_VALIDATE.timeout_s
    assert props["EphemeralStorage"] == {"Size": topology.IMPORT_VALIDATE.ephemeral_storage_mb}
