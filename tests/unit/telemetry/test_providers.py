"""Set-up from the `OTEL_*` environment: resource, exporters chosen, the JSON-lines file, idempotence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tenant_telemetry.otlp_headers import PARAMETER_VAR, SECRET_VAR, otlp_headers
from tenant_telemetry.providers import (
    DEFAULT_FLUSH_BUDGET_MS,
    FLUSH_MARGIN_MS,
    build_telemetry,
    flush_budget_ms,
)
from tenant_telemetry.resource import lambda_resource
from tenant_telemetry.settings import JSONL_PATH_VAR, TelemetrySettings

LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_NAME": "tenant-pipelines-import-load",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/tenant-pipelines-import-load",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/26/[$LATEST]abc",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "AWS_LAMBDA_", "TENANT_TELEMETRY_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_lambda_resource_attributes(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in LAMBDA_ENV.items():
        clean_env.setenv(name, value)
    attributes = lambda_resource().attributes
    assert attributes["cloud.provider"] == "aws"
    assert attributes["cloud.platform"] == "aws_lambda"
    assert attributes["cloud.region"] == "eu-west-1"
    assert attributes["faas.name"] == "tenant-pipelines-import-load"
    assert attributes["faas.version"] == "$LATEST"
    assert attributes["faas.max_memory"] == 512 * 1024 * 1024
    assert attributes["service.name"] == "tenant-pipelines-import-load"
    assert attributes["aws.log.group.names"] == ("/aws/lambda/tenant-pipelines-import-load",)


def test_otel_variables_override_what_lambda_tells(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in LAMBDA_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("OTEL_SERVICE_NAME", "importer")
    clean_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,cloud.region=custom")
    attributes = lambda_resource().attributes
    assert attributes["service.name"] == "importer"
    assert attributes["deployment.environment"] == "prod"
    assert attributes["cloud.region"] == "custom"


def test_outside_lambda_the_service_is_unknown(clean_env: pytest.MonkeyPatch) -> None:
    assert lambda_resource().attributes["service.name"] == "unknown_service:python"


@pytest.mark.parametrize(
    ("env", "otlp_traces", "otlp_metrics", "jsonl"),
    [
        ({}, False, False, None),
        ({JSONL_PATH_VAR: "/tmp/spans.jsonl"}, False, False, "/tmp/spans.jsonl"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True, True, None),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True, False, None),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_METRICS_EXPORTER": "none"},
            True,
            False,
            None,
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False, True, None),
        ({"OTEL_TRACES_EXPORTER": "none", JSONL_PATH_VAR: "/tmp/x"}, False, False, None),
    ],
)
def test_which_exporters_the_environment_asks_for(
    env: dict[str, str], otlp_traces: bool, otlp_metrics: bool, jsonl: str | None
) -> None:
    settings = TelemetrySettings.from_env(env)
    assert (settings.otlp_traces, settings.otlp_metrics, settings.jsonl_path) == (
        otlp_traces,
        otlp_metrics,
        jsonl,
    )


def test_settings_defaults_and_overrides() -> None:
    defaults = TelemetrySettings.from_env({})
    assert defaults.max_queue_size == 8192 and defaults.max_export_batch_size == 512
    assert not defaults.metric_export_interval_set  # flushed per invocation, no timer thread
    assert not defaults.metrics_temporality_set  # delta by default
    custom = TelemetrySettings.from_env(
        {
            "OTEL_BSP_MAX_QUEUE_SIZE": "100",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "500",
            "OTEL_METRIC_EXPORT_INTERVAL": "60000",
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative",
        }
    )
    assert (custom.max_queue_size, custom.max_export_batch_size) == (100, 100)
    assert custom.metric_export_interval_set and custom.metrics_temporality_set


def test_without_an_endpoint_spans_go_to_the_jsonl_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "local" / "spans.jsonl"
    clean_env.setenv(JSONL_PATH_VAR, str(path))
    telemetry = build_telemetry(shutdown_on_exit=False)
    try:
        with (
            telemetry.tracer.start_as_current_span("data.import", attributes={"tenant.id": "acme"}) as parent,
            telemetry.tracer.start_as_current_span("data.import.validate"),
        ):
            pass
        assert telemetry.flush(5_000)
    finally:
        telemetry.shutdown()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["name"] for line in lines] == ["data.import.validate", "data.import"]
    child, root = lines
    assert child["parent_span_id"] == root["span_id"] == f"{parent.get_span_context().span_id:016x}"
    assert root["parent_span_id"] is None
    assert root["attributes"] == {"tenant.id": "acme"}
    assert root["trace_id"] == child["trace_id"] and len(root["trace_id"]) == 32
    assert root["kind"] == "INTERNAL" and root["status"]["code"] == "UNSET"
    assert root["start_time_unix_nano"] <= child["start_time_unix_nano"]


def test_with_nothing_configured_spans_go_nowhere(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.chdir(tmp_path)
    telemetry = build_telemetry(shutdown_on_exit=False)
    with telemetry.tracer.start_as_current_span("nowhere"):
        pass
    assert telemetry.flush(1_000)
    telemetry.shutdown()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (30_000, 30_000 - FLUSH_MARGIN_MS),
        (1_000, 1_000 - FLUSH_MARGIN_MS),
        (50, 0),
        (None, DEFAULT_FLUSH_BUDGET_MS),
        (float("nan"), DEFAULT_FLUSH_BUDGET_MS),
    ],
)
def test_flush_budget(remaining: float | None, expected: float) -> None:
    assert flush_budget_ms(remaining) == expected


def test_configure_is_idempotent_and_installs_the_globals_once(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json, logging
        from opentelemetry import metrics, trace
        import tenant_telemetry
        from tenant_telemetry import configure, instrument_handler
        from tenant_telemetry.logs import install_log_correlation

        first = configure()
        factory = logging.getLogRecordFactory()
        again = configure()
        install_log_correlation()

        @instrument_handler
        def handler(event, context):
            return None

        print(json.dumps({
            "same": first is again is tenant_telemetry.get_telemetry(),
            "global_tracer": trace.get_tracer_provider() is first.tracer_provider,
            "global_meter": metrics.get_meter_provider() is first.meter_provider,
            "factory_wrapped_once": logging.getLogRecordFactory() is factory,
        }))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    assert json.loads(done.stdout) == {
        "same": True,
        "global_tracer": True,
        "global_meter": True,
        "factory_wrapped_once": True,
    }
    assert "Overriding" not in done.stderr


@mock_aws
def test_otlp_headers_from_a_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3.client("secretsmanager").create_secret(Name="otlp", SecretString="x-api-key=s3cr3t,x-team=data")
    assert otlp_headers({SECRET_VAR: "otlp"}) == {"x-api-key": "s3cr3t", "x-team": "data"}


@mock_aws
def test_otlp_headers_from_a_secure_parameter(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    boto3.client("ssm").put_parameter(Name="/otlp/headers", Value="x-api-key=p4ram", Type="SecureString")
    assert otlp_headers({PARAMETER_VAR: "/otlp/headers"}) == {"x-api-key": "p4ram"}


@mock_aws
def test_a_missing_secret_is_a_warning_not_a_failure(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert otlp_headers({SECRET_VAR: "absent"}) is None
    assert "could not read the OTLP headers from absent" in caplog.text


def test_plain_otel_headers_win_and_nothing_is_read() -> None:
    def no_client(service: str) -> None:
        raise AssertionError("no AWS call expected")

    env = {"OTEL_EXPORTER_OTLP_HEADERS": "a=b", SECRET_VAR: "otlp"}
    assert otlp_headers(env, client=no_client) is None
    assert otlp_headers({}, client=no_client) is None


def test_a_failed_set_up_leaves_the_function_running(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tenant_telemetry import providers

    def broken() -> None:
        raise OSError("certificate file unreadable")

    # A fresh process state (globals already installed), and a set-up that raises
    monkeypatch.setattr(providers, "_process", providers._Process(configured=True))
    monkeypatch.setattr(providers, "build_telemetry", broken)
    telemetry = providers.configure()
    with telemetry.tracer.start_as_current_span("still works") as span:
        assert span.get_span_context().is_valid
    assert telemetry.flush(100)
    assert "telemetry set-up failed" in caplog.text
