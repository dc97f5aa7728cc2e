"""Migration records in the jobs table: status, phases with durations, counts and checksums.

Layout (beside the jobs, never in their `jobs-by-tenant` index: no `tenant_id`/`started_key`):
pk=`MIGRATION#{tenant_id}` sk=`{migration_id}`; one `phase_{name}` attribute per finished phase
(JSON), `attempts_{name}` counters, and the load figures added by every chunk. The jobs ledger
(`store.jobs.JobsLedger`) writes them, as it writes every item of the jobs table; this module gives
them their meaning and reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import StoreError, ThrottledError
from tenant_pipeline.migration.errors import (
    MigrationStoreError,
    TransientMigrationError,
    UnknownMigrationError,
)
from tenant_pipeline.store.client_errors import THROTTLE_CODES, error_code
from tenant_pipeline.store.jobs import JobsLedger
from tenant_pipeline.store.keys import migration_pk
from tenant_pipeline.store.pages import pages

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PHASES = ("validate", "freeze", "snapshot", "transfer", "load", "verify", "cutover", "rollback")


class MigrationStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    ROLLED_BACK = "ROLLED_BACK"
    FAILED = "FAILED"


def _domain_error(exc: ClientError, action: str) -> Exception:
    code = error_code(exc)
    if code in THROTTLE_CODES:
        return TransientMigrationError(f"{action}: {code}")
    return MigrationStoreError(f"{action}: {code or 'error'}: {exc}")


def _migration_error(exc: StoreError) -> Exception:
    """The ledger's store error as the migration's: throttling is transient (the phase reruns)."""
    if isinstance(exc, ThrottledError):
        return TransientMigrationError(str(exc))
    return MigrationStoreError(str(exc))


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    return {"S": json.dumps(value, sort_keys=True)}


def _plain(value: Mapping[str, Any]) -> Any:
    ((kind, raw),) = value.items()
    if kind == "N":
        number = float(raw)
        return int(number) if number.is_integer() and "." not in raw else number
    if kind == "NULL":
        return None
    return raw


@dataclass(frozen=True)
class MigrationRecord:
    """One migration as `tenantctl migrations` shows it."""

    migration_id: str
    tenant_id: str
    source_region: str
    target_region: str
    status: MigrationStatus
    started_at: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    @property
    def trace(self) -> dict[str, Any]:
        raw = self.fields.get("trace")
        return dict(json.loads(raw)) if isinstance(raw, str) else {}

    @property
    def frozen(self) -> bool:
        """Whether this migration set the tenant to `migrating` (so it owns the freeze)."""
        return bool(self.fields.get("frozen", False))

    def phases(self) -> dict[str, dict[str, Any]]:
        """Finished (or failed) phases in workflow order, with durations and attempts."""
        result: dict[str, dict[str, Any]] = {}
        for name in PHASES:
            raw = self.fields.get(f"phase_{name}")
            attempts = self.fields.get(f"attempts_{name}")
            if raw is None and attempts is None:
                continue
            entry: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else {"status": "running"}
            if attempts is not None:
                entry["attempts"] = int(attempts)
            result[name] = entry
        load = self._load_phase()
        if load is not None:
            result["load"] = {**load, **result.get("load", {})}
        return {name: result[name] for name in PHASES if name in result}

    def _load_phase(self) -> dict[str, Any] | None:
        if "load_chunks" not in self.fields:
            return None
        first, last = self.fields.get("load_first_start"), self.fields.get("load_last_end")
        entry: dict[str, Any] = {
            "status": "done" if self.fields.get("phase_verify") else "running",
            "chunks": int(self.fields["load_chunks"]),
            "records": int(self.fields.get("load_records", 0)),
        }
        if first is not None and last is not None:
            entry["duration_s"] = round(float(last) - float(first), 3)
        return entry

    def to_dict(self) -> dict[str, Any]:
        return {
            "migration_id": self.migration_id,
            "tenant_id": self.tenant_id,
            "source_region": self.source_region,
            "target_region": self.target_region,
            "status": self.status.value,
            "phase": self.fields.get("current_phase"),
            "phases": self.phases(),
            "record_count": self.fields.get("record_count"),
            "target_record_count": self.fields.get("target_record_count"),
            "checksum": self.fields.get("checksum"),
            "target_checksum": self.fields.get("target_checksum"),
            "checksum_match": self.fields.get("checksum_match"),
            "bytes_transferred": self.fields.get("bytes_transferred"),
            "execution_arn": self.fields.get("execution_arn"),
            "trace_id": self.fields.get("trace_id"),
            "started_at": self.started_at,
            "finished_at": self.fields.get("finished_at"),
            "error": self.fields.get("error"),
            "source_retained": self.fields.get("source_retained", False),
            "source_purged_at": self.fields.get("source_purged_at"),
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> MigrationRecord:
        plain = {name: _plain(value) for name, value in item.items() if name not in ("pk", "sk")}
        return cls(
            migration_id=plain.pop("migration_id"),
            tenant_id=plain.pop("tenant"),
            source_region=plain.pop("source_region"),
            target_region=plain.pop("target_region"),
            status=MigrationStatus(plain.pop("status")),
            started_at=plain.pop("started_at"),
            fields=plain,
        )


class MigrationLedger:
    """Adapter over the migration records of the jobs table."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client
        self._writer = JobsLedger(table_name, client)

    @staticmethod
    def _key(tenant_id: str, migration_id: str) -> dict[str, Any]:
        return {"pk": {"S": migration_pk(tenant_id)}, "sk": {"S": migration_id}}

    def create(
        self,
        *,
        migration_id: str,
        tenant_id: str,
        source_region: str,
        target_region: str,
        started_at: str,
        status: MigrationStatus = MigrationStatus.RUNNING,
        **extra: Any,
    ) -> MigrationRecord:
        """Record a new migration; a repeated create of the same id returns the existing record."""
        values = {
            "migration_id": migration_id,
            "tenant": tenant_id,
            "source_region": source_region,
            "target_region": target_region,
            "status": status.value,
            "started_at": started_at,
            **{name: value for name, value in extra.items() if value is not None},
        }
        attributes = {name: _attribute(value) for name, value in values.items()}
        try:
            created = self._writer.create_migration(tenant_id, migration_id, attributes)
        except StoreError as exc:
            raise _migration_error(exc) from exc
        if not created:
            return self.get(tenant_id, migration_id)
        return MigrationRecord.from_item({**self._key(tenant_id, migration_id), **attributes})

    def get(self, tenant_id: str, migration_id: str) -> MigrationRecord:
        try:
            reply = self._client.get_item(
                TableName=self._table, Key=self._key(tenant_id, migration_id), ConsistentRead=True
            )
        except ClientError as exc:
            raise _domain_error(exc, "get migration record") from exc
        if "Item" not in reply:
            raise UnknownMigrationError(f"no migration {migration_id!r} of tenant {tenant_id!r}")
        return MigrationRecord.from_item(reply["Item"])

    def list_for_tenant(self, tenant_id: str) -> list[MigrationRecord]:
        """The tenant's migrations, newest first."""
        records: list[MigrationRecord] = []
        try:
            for page in pages(
                self._client.query,
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": migration_pk(tenant_id)}},
            ):
                records.extend(MigrationRecord.from_item(item) for item in page.get("Items", []))
        except ClientError as exc:
            raise _domain_error(exc, "list migrations") from exc
        return sorted(records, key=lambda record: (record.started_at, record.migration_id), reverse=True)

    def update(
        self,
        tenant_id: str,
        migration_id: str,
        set_fields: Mapping[str, Any] | None = None,
        add_fields: Mapping[str, int | float] | None = None,
        set_if_absent: Mapping[str, Any] | None = None,
    ) -> None:
        """SET, ADD and set-if-absent in one call; a None value in `set_fields` removes the attribute."""
        fields = dict(set_fields or {})
        try:
            updated = self._writer.update_migration(
                tenant_id,
                migration_id,
                set_values={name: _attribute(value) for name, value in fields.items() if value is not None},
                add_values={name: _attribute(amount) for name, amount in (add_fields or {}).items()},
                set_if_absent={name: _attribute(value) for name, value in (set_if_absent or {}).items()},
                remove=[name for name, value in fields.items() if value is None],
            )
        except StoreError as exc:
            raise _migration_error(exc) from exc
        if not updated:
            raise UnknownMigrationError(f"no migration {migration_id!r} of tenant {tenant_id!r}")
