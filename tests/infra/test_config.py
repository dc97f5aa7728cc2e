"""Deployment settings from context, and one stack per configured region."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, DeploymentConfig
from tenant_pipeline import topology


def config_from(**context: Any) -> DeploymentConfig:
    from aws_cdk import App

    return DeploymentConfig.from_node(App(context=context).node)


def test_one_stack_per_default_region(synthesized: Any) -> None:
    assert tuple(synthesized.stacks) == topology.DEFAULT_REGIONS
    for region, stack in synthesized.stacks.items():
        assert stack.stack_name == f"{topology.PROJECT}-{region}"


def test_defaults_when_context_is_empty() -> None:
    config = config_from()
    assert config.regions == topology.DEFAULT_REGIONS
    assert config.telemetry.otlp_endpoint is None
    assert config.log_level == "INFO"


def test_regions_from_the_command_line_are_a_comma_separated_string() -> None:
    assert config_from(regions="eu-west-1, ap-southeast-2").regions == ("eu-west-1", "ap-southeast-2")


def test_empty_strings_count_as_unset() -> None:
    config = config_from(otlpEndpoint="", otlpHeadersSecret="", logLevel="debug")
    assert config.telemetry.otlp_endpoint is None
    assert config.telemetry.headers_secret is None
    assert config.log_level == "DEBUG"
    assert config_from(alarmEmail="").alarm_email is None
    assert config_from(alarmEmail="oncall@example.com").alarm_email == "oncall@example.com"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"regions": []}, "non-empty list"),
        ({"regions": ["eu-west-1", "eu-west-1"]}, "twice"),
        ({"otlpHeadersSecret": "s", "otlpHeadersParameter": "/p"}, "not both"),
        ({"logLevel": "LOUD"}, "logLevel"),
        ({"otlpEndpoint": 443}, "must be a string"),
        ({"alarmEmail": "oncall@example.com,ops@example.com"}, "one e-mail address"),
        ({"alarmEmail": "oncall"}, "alarmEmail"),
    ],
)
def test_invalid_context_is_a_clear_error(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from(**context)
