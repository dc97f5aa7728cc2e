"""An export request, as a caller sends it in a direct-invoke payload, checked before any work starts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.entities import EntitySchema, UnknownEntityError, load_entity
from tenant_pipeline.export.errors import InvalidExportRequestError
from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.store.keys import check_tenant_id

JOB_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{7,63}$")
CONTINUE_FIELD = "continue"
"""Set in the payload of a follow-up invocation of a running export job."""


def new_job_id() -> str:
    return f"export-{uuid.uuid4().hex[:20]}"


def check_job_id(job_id: object) -> str:
    if not isinstance(job_id, str) or not JOB_ID_PATTERN.fullmatch(job_id):
        raise InvalidExportRequestError(f"job id {job_id!r} does not match {JOB_ID_PATTERN.pattern}")
    return job_id


def parse_entities(value: object) -> tuple[str, ...]:
    """Entity names from a list or a comma-separated string, without duplicates, in the caller's order."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise InvalidExportRequestError("entities must be a list of entity type names")
    names = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not names:
        raise InvalidExportRequestError("an export needs at least one entity type")
    return names


@dataclass(frozen=True)
class ExportRequest:
    """What to export: one tenant's entity types, in one format, optionally gzip-compressed."""

    tenant_id: str
    entities: tuple[str, ...]
    format: ExportFormat
    gzip: bool = False
    job_id: str | None = None
    """Chosen by the caller to make a retried request the same job; otherwise allocated at start."""

    @classmethod
    def from_payload(cls, payload: object) -> ExportRequest:
        """Parse `{"tenant_id", "entities", "format", "gzip"?, "job_id"?}`; raises on anything malformed
        (`InvalidExportRequestError`, `InvalidTenantIdError`)."""
        if not isinstance(payload, Mapping):
            raise InvalidExportRequestError("the export request must be a JSON object")
        gzip = payload.get("gzip", False)
        if not isinstance(gzip, bool):
            raise InvalidExportRequestError(f"gzip must be true or false, got {gzip!r}")
        job_id = payload.get("job_id")
        return cls(
            tenant_id=check_tenant_id(payload.get("tenant_id")),  # type: ignore[arg-type]
            entities=parse_entities(payload.get("entities")),
            format=ExportFormat.parse(payload.get("format", ExportFormat.CSV.value)),
            gzip=gzip,
            job_id=check_job_id(job_id) if job_id is not None else None,
        )

    def schemas(self) -> list[EntitySchema]:
        """The schema of each entity type; raises `UnknownEntityError` naming the unknown one."""
        return [load_entity(name) for name in self.entities]

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "entities": list(self.entities),
            "format": self.format.value,
            "gzip": self.gzip,
        }
        if self.job_id is not None:
            payload["job_id"] = self.job_id
        return payload


__all__ = ["CONTINUE_FIELD", "ExportRequest", "UnknownEntityError", "check_job_id", "new_job_id"]
