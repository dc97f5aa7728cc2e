"""The message that carries one import batch from the validator to the loader.

Body (JSON): `{"v": 1, "job_id", "tenant_id", "entity", "batch_number", "row_count", "columns",
"shard_count", "rows": [[...], ...]}` with rows inline, or `"claim_check": {"bucket", "key"}` instead
of `rows` when the inline body would pass the SQS size limit. The trace context travels in the message
attributes (`traceparent`), not in the body.

`shard_count` is the tenant's count as the validator read it from the directory, so the loader keys
every row without reading the directory again. A message without it was sent before counts were
recorded, for a tenant that therefore has the legacy 8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from tenant_pipeline.errors import BatchMessageError
from tenant_pipeline.imports.keys import batches_prefix
from tenant_pipeline.store.keys import check_shard_count
from tenant_pipeline.topology import LEGACY_SHARD_COUNT

VERSION = 1


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a batch")


def encode_rows(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows as a JSON array of arrays (numbers that are `Decimal` become decimal strings)."""
    return orjson.dumps(rows, default=_default)


@dataclass(frozen=True)
class BatchHeader:
    """Everything in a batch message but its rows."""

    job_id: str
    tenant_id: str
    entity: str
    batch_number: int
    row_count: int
    columns: tuple[str, ...]
    shard_count: int = LEGACY_SHARD_COUNT

    def body(self, rows_json: bytes) -> bytes:
        """The message body with rows inline (`rows_json` from `encode_rows`)."""
        head = orjson.dumps(self._fields())
        return head[:-1] + b',"rows":' + rows_json + b"}"

    def claim_check_body(self, bucket: str, key: str) -> bytes:
        return orjson.dumps({**self._fields(), "claim_check": {"bucket": bucket, "key": key}})

    def _fields(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "job_id": self.job_id,
            "tenant_id": self.tenant_id,
            "entity": self.entity,
            "batch_number": self.batch_number,
            "row_count": self.row_count,
            "columns": list(self.columns),
            "shard_count": self.shard_count,
        }


@dataclass(frozen=True)
class BatchMessage:
    """A parsed batch message; `rows` is None when the rows are behind a claim check."""

    header: BatchHeader
    rows: list[list[Any]] | None
    claim_check: tuple[str, str] | None

    @classmethod
    def parse(cls, body: str | bytes) -> BatchMessage:
        try:
            data = orjson.loads(body)
            header = BatchHeader(
                job_id=_text(data, "job_id"),
                tenant_id=_text(data, "tenant_id"),
                entity=_text(data, "entity"),
                batch_number=int(data["batch_number"]),
                row_count=int(data["row_count"]),
                columns=tuple(str(column) for column in data["columns"]),
                shard_count=check_shard_count(data.get("shard_count", LEGACY_SHARD_COUNT)),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise BatchMessageError(f"malformed batch message: {exc}") from None
        if data.get("v") != VERSION:
            raise BatchMessageError(f"unsupported batch message version {data.get('v')!r}")
        rows, claim = data.get("rows"), data.get("claim_check")
        if rows is not None:
            return cls(header, check_rows(header, rows), None)
        if not isinstance(claim, dict) or not isinstance(claim.get("key"), str):
            raise BatchMessageError("batch message has neither rows nor a claim check")
        key = claim["key"]
        if not key.startswith(batches_prefix(header.tenant_id, header.job_id)) or ".." in key.split("/"):
            raise BatchMessageError(f"claim check {key!r} is outside the job's batch folder")
        return cls(header, None, (str(claim.get("bucket", "")), key))


def check_rows(header: BatchHeader, rows: Any) -> list[list[Any]]:
    """Rows as the header promises them (count and width), or `BatchMessageError`."""
    width = len(header.columns)
    if not isinstance(rows, list) or len(rows) != header.row_count:
        raise BatchMessageError(f"batch {header.batch_number} does not hold {header.row_count} rows")
    if any(not isinstance(row, list) or len(row) != width for row in rows):
        raise BatchMessageError(f"batch {header.batch_number} has a row that is not {width} values")
    return rows


def _text(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value
