"""The execution input contract of the tenant-migration state machine, and the state every task passes on.

```json
{"tenant_id": "acme", "target_region": "eu-west-1",
 "trace": {"traceparent": "00-...-...-01"},   // optional: the caller's W3C context
 "chunk_items": 1000}                          // optional: items per snapshot chunk (1..10000)
```

Anything else (a missing or malformed field, an unknown field) fails the execution in its first
state with `InvalidMigrationRequestError` and a message naming the field, before anything is frozen.
An operator can therefore start a migration with `aws stepfunctions start-execution` as well as
with `tenantctl migrate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenant_pipeline.migration.errors import InvalidMigrationRequestError
from tenant_pipeline.store.keys import TENANT_ID_PATTERN

REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
DEFAULT_CHUNK_ITEMS = 1000
MAX_CHUNK_ITEMS = 10_000
_FIELDS = frozenset({"tenant_id", "target_region", "trace", "chunk_items"})


@dataclass(frozen=True)
class MigrationRequest:
    """A well-formed execution input (whether the tenant and region exist is checked later)."""

    tenant_id: str
    target_region: str
    trace: Mapping[str, str] = field(default_factory=dict)
    chunk_items: int = DEFAULT_CHUNK_ITEMS

    def to_input(self) -> dict[str, Any]:
        """The execution input a caller sends to StartExecution."""
        document: dict[str, Any] = {"tenant_id": self.tenant_id, "target_region": self.target_region}
        if self.trace:
            document["trace"] = dict(self.trace)
        if self.chunk_items != DEFAULT_CHUNK_ITEMS:
            document["chunk_items"] = self.chunk_items
        return document

    @classmethod
    def parse(cls, document: Any) -> MigrationRequest:
        if not isinstance(document, Mapping):
            raise InvalidMigrationRequestError("the execution input must be a JSON object")
        unknown = sorted(set(document) - _FIELDS)
        if unknown:
            raise InvalidMigrationRequestError(
                f"unknown field(s) in the execution input: {', '.join(unknown)}; "
                f"expected {', '.join(sorted(_FIELDS))}"
            )
        return cls(
            tenant_id=_tenant_id(document.get("tenant_id")),
            target_region=_region(document.get("target_region")),
            trace=_trace(document.get("trace")),
            chunk_items=_chunk_items(document.get("chunk_items", DEFAULT_CHUNK_ITEMS)),
        )


def _tenant_id(value: Any) -> str:
    if value is None:
        raise InvalidMigrationRequestError("the execution input has no tenant_id")
    if not isinstance(value, str) or not TENANT_ID_PATTERN.fullmatch(value):
        raise InvalidMigrationRequestError(f"tenant_id {value!r} does not match {TENANT_ID_PATTERN.pattern}")
    return value


def _region(value: Any) -> str:
    if value is None:
        raise InvalidMigrationRequestError("the execution input has no target_region")
    if not isinstance(value, str) or not REGION_PATTERN.fullmatch(value):
        raise InvalidMigrationRequestError(f"target_region {value!r} is not an AWS region name")
    return value


def _trace(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise InvalidMigrationRequestError('trace must be an object of strings, e.g. {"traceparent": ...}')
    return dict(value)


def _chunk_items(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHUNK_ITEMS:
        raise InvalidMigrationRequestError(f"chunk_items must be an integer from 1 to {MAX_CHUNK_ITEMS}")
    return value


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
