"""Alarms (queues, functions, workflow, tables, failed jobs), all notifying the alert topic; the dashboard;
published names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.constructs.migration import DEFINITION_PATH
from infra.constructs.nag import logical_id
from infra.constructs.operations import (
    FAILED_JOBS_METRIC,
    METRICS_NAMESPACE,
    failed_records_metric,
)
from tenant_pipeline import topology
from tests.infra.template_queries import properties, published_id, referenced_id, resources_of_type

Resource = topology.Resource


@pytest.fixture(scope="module")
def template_json(synthesized: Any, stack: Any) -> dict[str, Any]:
    return dict(synthesized.template_json(stack.region))


def alarms(template_json: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        alarm["Properties"] for alarm in resources_of_type(template_json, "AWS::CloudWatch::Alarm").values()
    ]


def dimension_targets(alarm: dict[str, Any]) -> set[str]:
    return {referenced_id(dimension["Value"]) for dimension in alarm.get("Dimensions", [])}


def metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics of a math-expression alarm (`Metrics[].MetricStat.Metric`)."""
    return [query["MetricStat"]["Metric"] for query in alarm.get("Metrics", []) if "MetricStat" in query]


def single_metric_alarms(
    template_json: dict[str, Any], metric_name: str, target: str
) -> list[dict[str, Any]]:
    return [
        alarm
        for alarm in alarms(template_json)
        if alarm.get("MetricName") == metric_name and target in dimension_targets(alarm)
    ]


def test_every_alarm_notifies_the_alert_topic_when_it_fires_and_recovers(
    template_json: dict[str, Any], stack: Any
) -> None:
    topic = logical_id(stack.alerts.topic)
    found = alarms(template_json)
    assert len(found) == len(stack.operations.alarms) >= 10
    for alarm in found:
        assert [referenced_id(action) for action in alarm["AlarmActions"]] == [topic]
        assert [referenced_id(action) for action in alarm["OKActions"]] == [topic]


def test_the_alert_topic_is_encrypted_tls_only_and_cloudwatch_may_use_its_key(
    template_json: dict[str, Any], stack: Any
) -> None:
    topic = properties(template_json, logical_id(stack.alerts.topic))
    assert referenced_id(topic["KmsMasterKeyId"]) == logical_id(stack.alerts.key)
    key_policy = json.dumps(properties(template_json, logical_id(stack.alerts.key))["KeyPolicy"])
    assert "cloudwatch.amazonaws.com" in key_policy
    policies = [
        statement
        for policy in resources_of_type(template_json, "AWS::SNS::TopicPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policies
    )


@pytest.mark.parametrize("settings", topology.ALL_QUEUES, ids=lambda s: str(s.queue))
def test_every_queue_and_dlq_alarms_on_depth_and_age(
    template_json: dict[str, Any], settings: topology.QueueSettings
) -> None:
    queue = published_id(template_json, settings.queue)
    dlq = published_id(template_json, settings.dlq)
    (depth,) = single_metric_alarms(template_json, "ApproximateNumberOfMessagesVisible", dlq)
    assert (depth["Threshold"], depth["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    (queue_age,) = single_metric_alarms(template_json, "ApproximateAgeOfOldestMessage", queue)
    assert queue_age["Threshold"] == settings.visibility_timeout_s * settings.max_receive_count
    (dlq_age,) = single_metric_alarms(template_json, "ApproximateAgeOfOldestMessage", dlq)
    assert 0 < dlq_age["Threshold"] < settings.dlq_retention_s


def test_every_function_alarms_on_errors_and_on_failed_records_of_partial_batches(
    template_json: dict[str, Any], stack: Any
) -> None:
    for name, function in stack.functions.items():
        matching = [
            alarm
            for alarm in alarms(template_json)
            if any(
                metric["MetricName"] == "Errors"
                and {referenced_id(d["Value"]) for d in metric["Dimensions"]} == {logical_id(function)}
                for metric in metric_stats(alarm)
            )
        ]
        (alarm,) = matching
        assert {(m["Namespace"], m["MetricName"]) for m in metric_stats(alarm)} == {
            ("AWS/Lambda", "Errors"),
            (METRICS_NAMESPACE, failed_records_metric(name)),
        }
        (expression,) = [query["Expression"] for query in alarm["Metrics"] if "Expression" in query]
        assert "+" in expression
        (records_filter,) = filters_for(template_json, failed_records_metric(name))
        assert referenced_id(records_filter["LogGroupName"]) == logical_id(function.log_group)


def test_migration_executions_that_fail_time_out_or_abort_alarm(
    template_json: dict[str, Any], stack: Any
) -> None:
    if stack.migration.state_machine is None:
        pytest.skip("the migration definition is not written yet")
    machine = logical_id(stack.migration.state_machine)
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        (alarm,) = single_metric_alarms(template_json, metric, machine)
        assert alarm["Namespace"] == "AWS/States"


def test_every_table_alarms_on_throttled_requests(template_json: dict[str, Any]) -> None:
    for settings in topology.TABLES:
        table = published_id(template_json, settings.table)
        throttle_alarms = [
            alarm
            for alarm in alarms(template_json)
            if metric_stats(alarm)
            and all(
                metric["MetricName"] == "ThrottledRequests"
                and table
                in {referenced_id(d["Value"]) for d in metric["Dimensions"] if d["Name"] == "TableName"}
                for metric in metric_stats(alarm)
            )
        ]
        (alarm,) = throttle_alarms
        operations = {
            d["Value"]
            for metric in metric_stats(alarm)
            for d in metric["Dimensions"]
            if d["Name"] == "Operation"
        }
        assert {"PutItem", "BatchWriteItem", "Query", "UpdateItem"} <= operations


def filters_for(template_json: dict[str, Any], metric_name: str) -> list[dict[str, Any]]:
    return [
        metric_filter["Properties"]
        for metric_filter in resources_of_type(template_json, "AWS::Logs::MetricFilter").values()
        if metric_filter["Properties"]["MetricTransformations"][0]["MetricName"] == metric_name
    ]


def test_failed_jobs_are_counted_from_the_logs_and_alarmed(template_json: dict[str, Any], stack: Any) -> None:
    failed_jobs = filters_for(template_json, FAILED_JOBS_METRIC)
    assert {referenced_id(f["LogGroupName"]) for f in failed_jobs} == {
        logical_id(function.log_group) for function in stack.functions.values()
    }
    for props in failed_jobs:
        assert props["FilterPattern"] == (
            '{ ($.message = "import job finished") && '
            '(($.status = "FAILED") || ($.status = "FAILED_VALIDATION")) }'
        )
        (transformation,) = props["MetricTransformations"]
        assert transformation["MetricNamespace"] == METRICS_NAMESPACE
    assert any(
        alarm.get("MetricName") == FAILED_JOBS_METRIC and alarm["Namespace"] == METRICS_NAMESPACE
        for alarm in alarms(template_json)
    )


def test_dashboard_shows_queues_functions_and_tables(template_json: dict[str, Any]) -> None:
    (dashboard,) = resources_of_type(template_json, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConsumedWriteCapacityUnits",
        FAILED_JOBS_METRIC,
    ):
        assert metric in body


def test_every_name_is_published_in_ssm_and_as_an_output(template_json: dict[str, Any], stack: Any) -> None:
    parameters = {
        parameter["Properties"]["Name"]: referenced_id(parameter["Properties"]["Value"])
        for parameter in resources_of_type(template_json, "AWS::SSM::Parameter").values()
    }
    expected = set(stack.physical_names())
    # Until the migration definition exists there is no workflow to publish; everything else always is.
    unpublished = (
        set()
        if DEFINITION_PATH.is_file()
        else {Resource.MIGRATION_FUNCTION, Resource.MIGRATION_STATE_MACHINE}
    )
    assert expected == set(Resource) - unpublished
    assert set(parameters) == {resource.ssm_parameter for resource in expected}
    outputs = template_json["Outputs"]
    for resource in expected:
        assert referenced_id(outputs_by_description(outputs, resource)) == parameters[resource.ssm_parameter]


def outputs_by_description(outputs: dict[str, Any], resource: topology.Resource) -> Any:
    (value,) = [
        output["Value"] for output in outputs.values() if resource.ssm_parameter in output["Description"]
    ]
    return value
