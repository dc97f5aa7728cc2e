"""What every phase receives: the migration's identity, regions and trace, carried in `$.migration`.

The first task builds it; the state machine passes it unchanged to every later task, so a phase
needs nothing else to find the tenant, both regions and the trace it joins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.migration.errors import InvalidMigrationRequestError


@dataclass(frozen=True)
class MigrationState:
    migration_id: str
    tenant_id: str
    source_region: str
    target_region: str
    execution_arn: str
    trace: Mapping[str, Any]
    """`JobTrace.to_dict()` of the migration's trace."""
    started_ns: int
    chunk_items: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id,
            "tenant_id": self.tenant_id,
            "source_region": self.source_region,
            "target_region": self.target_region,
            "execution_arn": self.execution_arn,
            "trace": dict(self.trace),
            # A string: state machine JSON numbers may be doubles, which cannot hold nanoseconds exactly.
            "started_ns": str(self.started_ns),
            "chunk_items": self.chunk_items,
        }

    @classmethod
    def from_dict(cls, data: Any) -> MigrationState:
        if not isinstance(data, Mapping):
            raise InvalidMigrationRequestError("the phase event has no `migration` object")
        try:
            return cls(
                migration_id=str(data["migration_id"]),
                tenant_id=str(data["tenant_id"]),
                source_region=str(data["source_region"]),
                target_region=str(data["target_region"]),
                execution_arn=str(data.get("execution_arn", "")),
                trace=dict(data["trace"]),
                started_ns=int(data["started_ns"]),
                chunk_items=int(data["chunk_items"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidMigrationRequestError(
                f"the phase event's `migration` object is malformed: {exc}"
            ) from None
