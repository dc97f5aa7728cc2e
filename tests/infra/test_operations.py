"""Alarms on DLQ depth, function errors and failed jobs; the dashboard; published names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.constructs.migration import DEFINITION_PATH
from infra.constructs.nag import logical_id
from infra.constructs.operations import FAILED_JOBS_METRIC, JOB_STATUS_FIELD, METRICS_NAMESPACE
from tenant_pipeline import topology
from tests.infra.template_queries import published_id, referenced_id, resources_of_type

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


def test_every_dlq_has_a_depth_alarm(template_json: dict[str, Any]) -> None:
    for settings in topology.QUEUES:
        dlq = published_id(template_json, settings.dlq)
        matching = [
            alarm
            for alarm in alarms(template_json)
            if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and dlq in dimension_targets(alarm)
        ]
        assert len(matching) == 1
        assert matching[0]["Threshold"] == 1
        assert matching[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_every_function_has_an_error_alarm(template_json: dict[str, Any], stack: Any) -> None:
    for function in stack.functions.values():
        assert any(
            alarm["MetricName"] == "Errors" and logical_id(function) in dimension_targets(alarm)
            for alarm in alarms(template_json)
        )


def test_failed_jobs_are_counted_from_the_logs_and_alarmed(template_json: dict[str, Any], stack: Any) -> None:
    filters = resources_of_type(template_json, "AWS::Logs::MetricFilter")
    assert len(filters) == len(stack.functions)
    for metric_filter in filters.values():
        props = metric_filter["Properties"]
        assert f'$.{JOB_STATUS_FIELD} = "FAILED"' in props["FilterPattern"]
        assert f'$.{JOB_STATUS_FIELD} = "FAILED_VALIDATION"' in props["FilterPattern"]
        (transformation,) = props["MetricTransformations"]
        assert (transformation["MetricNamespace"], transformation["MetricName"]) == (
            METRICS_NAMESPACE,
            FAILED_JOBS_METRIC,
        )
    assert any(
        alarm["MetricName"] == FAILED_JOBS_METRIC and alarm["Namespace"] == METRICS_NAMESPACE
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
