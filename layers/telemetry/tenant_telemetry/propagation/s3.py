"""Trace context in S3 object user metadata (`x-amz-meta-traceparent`).

An uploader that writes `traceparent` into the object's metadata makes the import job join its trace.
boto3 gives user metadata without the `x-amz-meta-` prefix (`head_object()["Metadata"]`); raw HTTP headers
keep it. Both are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.context import Context

from tenant_telemetry.propagation import w3c

_PREFIX = "x-amz-meta-"


def inject_object_metadata(
    metadata: Mapping[str, str] | None = None, *, context: Context | None = None
) -> dict[str, str]:
    """`metadata` (the `Metadata` argument of `put_object`) plus the current trace context."""
    return {**(metadata or {}), **w3c.inject(context)}


def object_context(metadata: Mapping[str, str] | None, *, source: str = "S3 object") -> Context:
    """The uploader's context from the object's user metadata, or a fresh context with a warning."""
    carrier: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        name = key.lower().removeprefix(_PREFIX)
        if name in w3c.FIELDS and isinstance(value, str):
            carrier[name] = value
    return w3c.extract(carrier, source=source)
