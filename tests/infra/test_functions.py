"""The function factory: runtime, architecture, JSON logging, layers and the telemetry environment."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from infra.constructs.functions import service_name
from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tenant_telemetry.otlp_headers import PARAMETER_VAR as HEADERS_PARAMETER_ENV
from tenant_telemetry.otlp_headers import SECRET_VAR as HEADERS_SECRET_ENV
from tests.infra.conftest import app_context
from tests.infra.template_queries import (
    as_list,
    policy_statements_of_role,
    properties,
    referenced_id,
    resources_of_type,
)


@pytest.fixture(scope="module")
def template_json(synthesized: Any, stack: Any) -> dict[str, Any]:
    return dict(synthesized.template_json(stack.region))


def test_every_function_runs_python_3_13_on_arm64_with_json_logs(
    template_json: dict[str, Any], stack: Any
) -> None:
    for function in stack.functions.values():
        props = properties(template_json, logical_id(function))
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
        log_group = properties(template_json, referenced_id(props["LoggingConfig"]["LogGroup"]))
        assert log_group["RetentionInDays"] == 30


def test_every_function_carries_both_layers(template_json: dict[str, Any], stack: Any) -> None:
    layers = {logical_id(stack.telemetry_layer), logical_id(stack.pipeline_layer)}
    for function in stack.functions.values():
        attached = {
            referenced_id(layer) for layer in properties(template_json, logical_id(function))["Layers"]
        }
        assert attached == layers


def test_layers_are_built_for_the_functions_runtime_and_architecture(template_json: dict[str, Any]) -> None:
    layers = resources_of_type(template_json, "AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_every_function_gets_the_telemetry_environment(template_json: dict[str, Any], stack: Any) -> None:
    for name, function in stack.functions.items():
        variables = properties(template_json, logical_id(function))["Environment"]["Variables"]
        settings = next(s for s in topology.FUNCTIONS if s.name == name)
        assert variables["OTEL_SERVICE_NAME"] == service_name(settings)
        assert variables["POWERTOOLS_SERVICE_NAME"] == service_name(settings)
        assert variables["OTEL_PROPAGATORS"] == "tracecontext,baggage"
        assert variables["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
        assert variables["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] == "delta"
        # cdk.json configures no collector, so nothing is exported and nothing reads a secret.
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in variables
        assert HEADERS_SECRET_ENV not in variables


@pytest.fixture(scope="module")
def configured_telemetry() -> dict[str, Any]:
    """A stack whose functions export to a collector with headers from a Secrets Manager secret, and
    whose alarms mail someone."""
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.app import build

    app = App(
        context=app_context(
            regions=["eu-west-1"],
            otlpEndpoint="https://otlp.example.com",
            otlpHeadersSecret="tenant-pipelines/otlp-headers",
            alarmEmail="oncall@example.com",
        )
    )
    (stack,) = build(app)
    return {"template": Template.from_stack(stack).to_json(), "stack": stack}


def test_collector_endpoint_and_headers_secret_come_from_configuration(
    configured_telemetry: dict[str, Any],
) -> None:
    template, stack = configured_telemetry["template"], configured_telemetry["stack"]
    for function in stack.functions.values():
        props = properties(template, logical_id(function))
        variables = props["Environment"]["Variables"]
        assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == "https://otlp.example.com"
        # Where to find the headers, never their value.
        assert variables[HEADERS_SECRET_ENV] == "tenant-pipelines/otlp-headers"
        assert HEADERS_PARAMETER_ENV not in variables
        statements = policy_statements_of_role(template, referenced_id(props["Role"]))
        secret_reads = [s for s in statements if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
        assert secret_reads, "the function may not read its OTLP headers secret"
        assert "tenant-pipelines/otlp-headers-??????" in str(secret_reads[0]["Resource"])


NO_TRACES = Match.string_like_regexp("traces and metrics go nowhere")


def test_a_deploy_without_an_otlp_endpoint_warns_that_traces_go_nowhere(stack: Any) -> None:
    assert Annotations.from_stack(stack).find_warning("*", NO_TRACES)


def test_a_deploy_with_an_otlp_endpoint_does_not_warn(configured_telemetry: dict[str, Any]) -> None:
    assert not Annotations.from_stack(configured_telemetry["stack"]).find_warning("*", NO_TRACES)


def test_alarm_email_context_subscribes_that_address(
    configured_telemetry: dict[str, Any], template_json: dict[str, Any]
) -> None:
    template, stack = configured_telemetry["template"], configured_telemetry["stack"]
    (subscription,) = resources_of_type(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"
    assert referenced_id(subscription["Properties"]["TopicArn"]) == logical_id(stack.alerts.topic)
    assert resources_of_type(template_json, "AWS::SNS::Subscription") == {}
