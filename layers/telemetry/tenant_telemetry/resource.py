"""The Lambda resource: who emits the telemetry, from the variables the Lambda runtime sets."""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.version import __version__ as sdk_version
from opentelemetry.util.types import AttributeValue


def lambda_attributes(environ: Mapping[str, str] | None = None) -> dict[str, AttributeValue]:
    """Resource attributes of the FaaS semantic conventions, for the variables that are present."""
    env = os.environ if environ is None else environ
    attributes: dict[str, AttributeValue] = {
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
    }
    if region := env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"):
        attributes["cloud.region"] = region
    if name := env.get("AWS_LAMBDA_FUNCTION_NAME"):
        attributes["faas.name"] = name
        attributes["service.name"] = name
    if version := env.get("AWS_LAMBDA_FUNCTION_VERSION"):
        attributes["faas.version"] = version
    if instance := env.get("AWS_LAMBDA_LOG_STREAM_NAME"):
        attributes["faas.instance"] = instance
    if log_group := env.get("AWS_LAMBDA_LOG_GROUP_NAME"):
        attributes["aws.log.group.names"] = (log_group,)
    memory_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory_mb.isdigit():
        # The semantic conventions give the memory in bytes; Lambda gives megabytes.
        attributes["faas.max_memory"] = int(memory_mb) * 1024 * 1024
    return attributes


def lambda_resource() -> Resource:
    """The Lambda attributes, overridden by `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`.

    Built without `Resource.create()`, which starts a thread pool to run its detectors: the two variables
    are all it would read here, and the cold start pays for every thread.
    """
    configured = OTELResourceDetector().detect()
    resource = Resource(lambda_attributes()).merge(configured)
    if "service.name" not in resource.attributes:
        resource = resource.merge(Resource({"service.name": "unknown_service:python"}))
    return resource
