"""Construct ids derived from topology keys, so the same resource keeps the same logical id."""

from __future__ import annotations

from tenant_pipeline import topology


def pascal_id(resource: topology.Resource | str) -> str:
    """`ingest-events-queue` or `import_validate` -> `IngestEventsQueue` / `ImportValidate`."""
    return "".join(part.capitalize() for part in str(resource).replace("_", "-").split("-"))


def stack_name(region: str) -> str:
    """`tenant-pipelines-us-east-1`: one stack per region, named alike in every region."""
    return f"{topology.PROJECT}-{region}"
