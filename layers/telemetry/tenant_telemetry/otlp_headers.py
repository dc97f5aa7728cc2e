"""OTLP headers (a vendor's API key, say) read at cold start from Secrets Manager or SSM.

A deployment names where the headers live (`TENANT_TELEMETRY_OTLP_HEADERS_SECRET`, a secret's name or ARN,
or `TENANT_TELEMETRY_OTLP_HEADERS_PARAMETER`, a SecureString parameter), so the key never sits in the
template or the function's configuration. The value has the `OTEL_EXPORTER_OTLP_HEADERS` format
(`key=value,key2=value2`); `OTEL_EXPORTER_OTLP_HEADERS` itself, when set, wins. A failed read is logged and
the export goes on without headers: telemetry never stops a function from starting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

_log = logging.getLogger(__name__)

SECRET_VAR = "TENANT_TELEMETRY_OTLP_HEADERS_SECRET"
PARAMETER_VAR = "TENANT_TELEMETRY_OTLP_HEADERS_PARAMETER"

ClientFactory = Callable[[str], Any]


def otlp_headers(
    environ: Mapping[str, str] | None = None, *, client: ClientFactory | None = None
) -> dict[str, str] | None:
    """The headers from the secret or parameter, or None (then the exporters read the environment)."""
    env = os.environ if environ is None else environ
    secret, parameter = env.get(SECRET_VAR), env.get(PARAMETER_VAR)
    if env.get("OTEL_EXPORTER_OTLP_HEADERS") or not (secret or parameter):
        return None
    make_client = client or _boto3_client
    try:
        if secret:
            value = make_client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
        else:
            found = make_client("ssm").get_parameter(Name=parameter, WithDecryption=True)
            value = found["Parameter"]["Value"]
    except Exception as exc:  # any failure here must not stop the function
        _log.warning("could not read the OTLP headers from %s: %s", secret or parameter, exc)
        return None
    from opentelemetry.util.re import parse_env_headers  # only when headers are kept this way

    return dict(parse_env_headers(value, liberal=True))


def _boto3_client(service: str) -> Any:
    import boto3  # in the Lambda runtime; imported only when a deployment asks for headers this way

    return boto3.client(service)  # type: ignore[call-overload]
