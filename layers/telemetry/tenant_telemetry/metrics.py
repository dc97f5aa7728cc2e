"""The pipeline's instruments, with the seed's names, units and attributes, exactly.

Call sites pass the attribute values as keyword arguments, so an attribute cannot be misspelt or left out.
Instruments are created once per `Telemetry` (per cold start) and exported with delta temporality at the
end of each invocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from weakref import WeakKeyDictionary

from opentelemetry.metrics import Counter, Histogram

from tenant_telemetry.providers import Telemetry, get_telemetry

IMPORT_RECORDS_PROCESSED = "data.import.records_processed"
IMPORT_ERRORS = "data.import.errors"
IMPORT_DURATION = "data.import.duration"
IMPORT_THROUGHPUT = "data.import.throughput"
EXPORT_DURATION = "data.export.duration"
MIGRATION_DURATION = "migration.duration"
MIGRATION_BYTES_TRANSFERRED = "migration.bytes_transferred"
MIGRATION_INTEGRITY_CHECK = "migration.integrity_check"


class ImportStatus(StrEnum):
    """`import.status` of `data.import.records_processed`: `success` for stored records, as the seed writes
    it (dashboards built on the seed select on it), `invalid` for rows rejected by validation."""

    SUCCESS = "success"
    INVALID = "invalid"


# Jobs last from a second to an hour; the SDK's default buckets (0 to 10,000) suit milliseconds.
DURATION_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
THROUGHPUT_BUCKETS = (10, 50, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000)


@dataclass(frozen=True)
class PipelineMetrics:
    """Record methods for each seed instrument; the attributes are their keyword arguments."""

    records_processed: Counter
    errors: Counter
    import_duration: Histogram
    import_throughput: Histogram
    export_duration: Histogram
    migration_duration: Histogram
    migration_bytes: Counter
    integrity_checks: Counter

    @classmethod
    def create(cls, telemetry: Telemetry) -> PipelineMetrics:
        meter = telemetry.meter
        return cls(
            records_processed=meter.create_counter(
                IMPORT_RECORDS_PROCESSED, unit="{record}", description="Records of import jobs, by outcome"
            ),
            errors=meter.create_counter(
                IMPORT_ERRORS, unit="{error}", description="Rows or batches an import could not store"
            ),
            import_duration=meter.create_histogram(
                IMPORT_DURATION,
                unit="s",
                description="Import job duration, first byte to last write",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
            ),
            import_throughput=meter.create_histogram(
                IMPORT_THROUGHPUT,
                unit="{record}/s",
                description="Records stored per second of an import job",
                explicit_bucket_boundaries_advisory=THROUGHPUT_BUCKETS,
            ),
            export_duration=meter.create_histogram(
                EXPORT_DURATION,
                unit="s",
                description="Export job duration",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
            ),
            migration_duration=meter.create_histogram(
                MIGRATION_DURATION,
                unit="s",
                description="Tenant migration duration",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
            ),
            migration_bytes=meter.create_counter(
                MIGRATION_BYTES_TRANSFERRED, unit="By", description="Bytes copied by tenant migrations"
            ),
            integrity_checks=meter.create_counter(
                MIGRATION_INTEGRITY_CHECK, unit="{check}", description="Migration verifications, by result"
            ),
        )

    def record_import_records(self, count: int, *, tenant_id: str, status: ImportStatus) -> None:
        self.records_processed.add(count, {"tenant.id": tenant_id, "import.status": status.value})

    def record_import_errors(self, count: int, *, tenant_id: str, error_type: str) -> None:
        self.errors.add(count, {"tenant.id": tenant_id, "import.error_type": error_type})

    def record_import_duration(self, seconds: float, *, tenant_id: str, entity_type: str) -> None:
        self.import_duration.record(seconds, {"tenant.id": tenant_id, "import.entity_type": entity_type})

    def record_import_throughput(self, records_per_second: float, *, entity_type: str) -> None:
        self.import_throughput.record(records_per_second, {"import.entity_type": entity_type})

    def record_export_duration(self, seconds: float) -> None:
        self.export_duration.record(seconds)

    def record_migration_duration(self, seconds: float, *, tenant_id: str, status: str) -> None:
        self.migration_duration.record(seconds, {"tenant.id": tenant_id, "migration.status": status})

    def record_migration_bytes(self, count: int, *, tenant_id: str) -> None:
        self.migration_bytes.add(count, {"tenant.id": tenant_id})

    def record_integrity_check(self, *, tenant_id: str, result: str) -> None:
        self.integrity_checks.add(1, {"tenant.id": tenant_id, "result": result})


_created: WeakKeyDictionary[Telemetry, PipelineMetrics] = WeakKeyDictionary()


def pipeline_metrics() -> PipelineMetrics:
    """The instruments of the active telemetry, created on first use."""
    telemetry = get_telemetry()
    metrics = _created.get(telemetry)
    if metrics is None:
        metrics = _created[telemetry] = PipelineMetrics.create(telemetry)
    return metrics
