"""Turns the failures a user can act on into one line and an exit code; anything else is a bug."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from tenant_pipeline.errors import PipelineError
from tenantctl.errors import TenantctlError


def describe_failure(exc: BaseException) -> tuple[str, int] | None:
    """(message, exit code) for an expected failure, None for an unexpected one."""
    if isinstance(exc, TenantctlError):
        return str(exc), exc.exit_code
    if isinstance(exc, PipelineError):
        return str(exc), 1
    message = _aws_message(exc)
    return None if message is None else (message, 1)


def _aws_message(exc: BaseException) -> str | None:
    message: str | None = None
    if isinstance(exc, EndpointConnectionError):
        endpoint = exc.kwargs.get("endpoint_url", "the endpoint")
        message = f"cannot reach {endpoint}: is `tenantctl local up` running (or is the endpoint right)?"
    elif isinstance(exc, NoCredentialsError | NoRegionError):
        message = f"AWS is not configured: {exc}"
    elif isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = f"AWS refused {exc.operation_name}: {error.get('Code')}: {error.get('Message')}"
    elif isinstance(exc, BotoCoreError):
        message = f"AWS call failed: {exc}"
    return message
