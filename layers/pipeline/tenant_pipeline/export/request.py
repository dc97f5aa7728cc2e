"""An export request, as a caller sends it in a direct-invoke payload, checked before any work starts."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.entities import EntitySchema, UnknownEntityError, load_entity
from tenant_pipeline.export.errors import InvalidExportRequestError
from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.store.keys import check_tenant_id
from tenant_telemetry.propagation import TRACE_FIELD

JOB_ID_PREFIX = "export-"
"""Every export job id starts so: the ledger's ids are namespaced by kind (imports' start `imp-`)."""
JOB_ID_PATTERN = re.compile(rf"^{JOB_ID_PREFIX}[0-9a-f]{{20,32}}$")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{7,63}$")
CONTINUE_FIELD = "continue"
"""Set in the payload of a follow-up invocation of a running export job."""
REQUEST_FIELDS = frozenset({"tenant_id", "entities", "format", "gzip", "request_id", TRACE_FIELD})
CONTINUE_FIELDS = frozenset({"tenant_id", "job_id", CONTINUE_FIELD, TRACE_FIELD})


def new_job_id(tenant_id: str | None = None, request_id: str | None = None) -> str:
    """A fresh export job id; for a request id, the same one each time (a retried request is one job).

    The id is never the caller's: a request id is hashed with the tenant, under the export namespace,
    so no request can claim another tenant's job or a future import's id."""
    if request_id is None:
        return f"{JOB_ID_PREFIX}{uuid.uuid4().hex[:20]}"
    digest = hashlib.sha256(f"export\n{tenant_id}\n{request_id}".encode()).hexdigest()
    return f"{JOB_ID_PREFIX}{digest[:32]}"


def check_job_id(job_id: object) -> str:
    if not isinstance(job_id, str) or not JOB_ID_PATTERN.fullmatch(job_id):
        raise InvalidExportRequestError(f"job id {str(job_id)[:80]!r} is not an export job id")
    return job_id


def check_payload(payload: object, allowed: frozenset[str]) -> Mapping[str, Any]:
    """The payload as a mapping with only known fields; anything else is refused with the reason."""
    if not isinstance(payload, Mapping):
        raise InvalidExportRequestError(
            f"the export request must be a JSON object, got {type(payload).__name__}"
        )
    unknown = sorted(str(name)[:40] for name in payload if name not in allowed)
    if unknown:
        raise InvalidExportRequestError(
            f"unknown field(s) in the export request: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(allowed))})"
        )
    return payload


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
    request_id: str | None = None
    """Set by a caller that may retry: the same request id of the same tenant is the same job."""

    @property
    def job_id(self) -> str | None:
        """The job a retried request maps to, or None when the job gets a fresh id."""
        return new_job_id(self.tenant_id, self.request_id) if self.request_id is not None else None

    @classmethod
    def from_payload(cls, payload: object) -> ExportRequest:
        """Parse `{"tenant_id", "entities", "format", "gzip"?, "request_id"?, "trace"?}`; raises on anything
        malformed or unknown (`InvalidExportRequestError`, `InvalidTenantIdError`)."""
        fields = check_payload(payload, REQUEST_FIELDS)
        gzip = fields.get("gzip", False)
        if not isinstance(gzip, bool):
            raise InvalidExportRequestError(f"gzip must be true or false, got {gzip!r}")
        request_id = fields.get("request_id")
        if request_id is not None and (
            not isinstance(request_id, str) or not REQUEST_ID_PATTERN.fullmatch(request_id)
        ):
            raise InvalidExportRequestError(
                f"request id {str(request_id)[:80]!r} does not match {REQUEST_ID_PATTERN.pattern}"
            )
        return cls(
            tenant_id=check_tenant_id(fields.get("tenant_id")),  # type: ignore[arg-type]
            entities=parse_entities(fields.get("entities")),
            format=ExportFormat.parse(fields.get("format", ExportFormat.CSV.value)),
            gzip=gzip,
            request_id=request_id,
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
        if self.request_id is not None:
            payload["request_id"] = self.request_id
        return payload


__all__ = [
    "CONTINUE_FIELD",
    "ExportRequest",
    "UnknownEntityError",
    "check_job_id",
    "check_payload",
    "new_job_id",
]
