"""Deployment settings read from CDK context (`cdk.json`, or `-c key=value` on the command line).

Only deployment choices live here; resource names and sizes come from `tenant_pipeline.topology`.

Context keys:
- `regions`: regions to deploy one stack each to (default `topology.DEFAULT_REGIONS`).
- `otlpEndpoint`: OTLP/HTTP endpoint of the collector or vendor; unset means no export.
- `otlpHeadersSecret`: name or ARN of a Secrets Manager secret holding the OTLP headers
  (`key=value,key2=value2`), read by the functions at run time.
- `otlpHeadersParameter`: name of an SSM SecureString parameter holding them instead.
- `logLevel`: application log level of the functions (default `INFO`).
- `alarmEmail`: an e-mail address subscribed to the stack's alarm topic (it must confirm the
  subscription from the mail AWS sends); unset means no subscription.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs import Node

from tenant_pipeline import topology

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Asset folders (`functions/`, `layers/`) are resolved from here, whatever the working directory."""


LOG_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"})
"""Levels that both Lambda's JSON logging and Powertools understand."""


_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")


class ConfigError(ValueError):
    """A context value is missing, empty or of the wrong shape."""


@dataclass(frozen=True)
class TelemetryConfig:
    """Where the functions send their OTLP data, and where they find the headers (never in the template)."""

    otlp_endpoint: str | None = None
    headers_secret: str | None = None
    headers_parameter: str | None = None


@dataclass(frozen=True)
class DeploymentConfig:
    """Everything the app reads from context, validated once."""

    regions: tuple[str, ...] = topology.DEFAULT_REGIONS
    telemetry: TelemetryConfig = TelemetryConfig()
    log_level: str = "INFO"
    alarm_email: str | None = None

    @classmethod
    def from_node(cls, node: Node) -> DeploymentConfig:
        """Reads the app's context; empty strings count as unset."""
        regions = node.try_get_context("regions")
        if regions is None:
            regions = list(topology.DEFAULT_REGIONS)
        if isinstance(regions, str):
            regions = [r.strip() for r in regions.split(",") if r.strip()]
        if not isinstance(regions, list) or not regions or not all(isinstance(r, str) for r in regions):
            raise ConfigError(f"context 'regions' must be a non-empty list of region names, got {regions!r}")
        if len(set(regions)) != len(regions):
            raise ConfigError(f"context 'regions' lists a region twice: {regions!r}")
        telemetry = TelemetryConfig(
            otlp_endpoint=_optional_str(node, "otlpEndpoint"),
            headers_secret=_optional_str(node, "otlpHeadersSecret"),
            headers_parameter=_optional_str(node, "otlpHeadersParameter"),
        )
        if telemetry.headers_secret and telemetry.headers_parameter:
            raise ConfigError("set either 'otlpHeadersSecret' or 'otlpHeadersParameter', not both")
        log_level = (_optional_str(node, "logLevel") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"context 'logLevel' must be one of {sorted(LOG_LEVELS)}, got {log_level!r}")
        alarm_email = _optional_str(node, "alarmEmail")
        if alarm_email is not None and not _EMAIL.fullmatch(alarm_email):
            raise ConfigError(f"context 'alarmEmail' must be one e-mail address, got {alarm_email!r}")
        return cls(regions=tuple(regions), telemetry=telemetry, log_level=log_level, alarm_email=alarm_email)


def _optional_str(node: Node, key: str) -> str | None:
    value: Any = node.try_get_context(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"context '{key}' must be a string, got {value!r}")
    return value
