"""The export job: one file per entity type, then `manifest.json`, over as many invocations as it takes.

The unit of work is one entity type. An invocation always exports at least one entity, and starts the
next one only while at least `reserve_ms` (half the function's timeout by default) and twice the slowest
entity so far remain; otherwise it records its progress and hands the job to a fresh invocation
(`Continuation`). An entity therefore never starts close to the time limit, and the files written so far
are never redone. One entity must fit in one invocation: its file is a single multipart upload whose
SHA-256 is computed in memory as it streams.

Telemetry: the job's root span `data.export` is allocated when the job starts and emitted when it
finishes; each entity is a `data.export.{entity}` child span in whichever invocation wrote it; the
`data.export.duration` histogram records the whole job's duration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context

from tenant_pipeline import topology
from tenant_pipeline.entities import EntitySchema, load_entity
from tenant_pipeline.errors import PipelineError, UnknownJobError
from tenant_pipeline.export.abandoned import AbandonedContinuation, ContinuationAbandonedError
from tenant_pipeline.export.continuation import Continuation
from tenant_pipeline.export.errors import ExportError, InvalidExportRequestError
from tenant_pipeline.export.format import ExportFormat
from tenant_pipeline.export.home_region import refuse_outside_home_region
from tenant_pipeline.export.job_record import ExportJobs, export_details
from tenant_pipeline.export.keys import MANIFEST_FILE_NAME, export_key, manifest_key
from tenant_pipeline.export.manifest import ExportManifest, ManifestFile
from tenant_pipeline.export.presign import DEFAULT_URL_TTL_S, presigned_url
from tenant_pipeline.export.record_groups import RecordGroups
from tenant_pipeline.export.request import (
    CONTINUE_FIELD,
    CONTINUE_FIELDS,
    REQUEST_FIELDS,
    ExportRequest,
    check_job_id,
    check_payload,
    new_job_id,
)
from tenant_pipeline.export.serialisers import serialiser_for
from tenant_pipeline.export.serialisers.base import UnserialisableValueError
from tenant_pipeline.export.timing import ExportEntityTiming
from tenant_pipeline.export.upload import DEFAULT_PART_BYTES, StreamingUpload
from tenant_pipeline.store.jobs import Job, JobKind, JobStatus
from tenant_pipeline.store.keys import check_tenant_id
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory, now_iso
from tenant_telemetry import JobTrace, pipeline_metrics
from tenant_telemetry.propagation import TRACE_FIELD, inject_payload, payload_context

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)
ROOT_SPAN = "data.export"
DEFAULT_RESERVE_MS = topology.EXPORT.timeout_s * 1000 // 2
_EXPECTED_FAILURES = (ExportError, PipelineError, UnserialisableValueError)
"""Failures that end the job as FAILED with their reason; anything else also fails it, then propagates."""


@dataclass(frozen=True)
class ExportOutcome:
    """What an invocation reports: the job's state after it, and the files written so far."""

    job_id: str
    tenant_id: str
    status: JobStatus
    format: str
    gzip: bool
    bucket: str
    files: tuple[ManifestFile, ...]
    trace_id: str | None
    manifest_key: str | None = None
    error: str | None = None
    urls: Mapping[str, str] = field(default_factory=dict)

    @property
    def total_records(self) -> int:
        return sum(entry.record_count for entry in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "tenant_id": self.tenant_id,
            "status": self.status.value,
            "format": self.format,
            "gzip": self.gzip,
            "bucket": self.bucket,
            "manifest_key": self.manifest_key,
            "total_records": self.total_records,
            "files": [entry.to_dict() for entry in self.files],
            "trace_id": self.trace_id,
            "error": self.error,
            "urls": dict(self.urls),
        }


@dataclass
class _JobState:
    """A running export as its job record describes it."""

    job: Job
    entities: tuple[str, ...]
    format: ExportFormat
    gzip: bool
    files: list[ManifestFile]
    trace: JobTrace

    @classmethod
    def of(cls, job: Job) -> _JobState:
        details = job.details
        if job.trace is None:
            raise InvalidExportRequestError(f"export job {job.job_id} has no trace")
        return cls(
            job=job,
            entities=tuple(details.get("entities", ())),
            format=ExportFormat.parse(job.format),
            gzip=bool(details.get("gzip", False)),
            files=[ManifestFile.from_dict(entry) for entry in details.get("files", ())],
            trace=JobTrace.from_dict(job.trace),
        )

    @property
    def remaining(self) -> list[str]:
        done = {entry.entity for entry in self.files}
        return [entity for entity in self.entities if entity not in done]


class ExportRunner:
    """Starts, continues and finishes export jobs."""

    def __init__(
        self,
        *,
        tenants: TenantDirectory,
        store: TenantDataStore,
        jobs: ExportJobs,
        s3: S3Client,
        bucket: str,
        continuation: Continuation,
        reserve_ms: int = DEFAULT_RESERVE_MS,
        part_bytes: int = DEFAULT_PART_BYTES,
        url_ttl_s: int = DEFAULT_URL_TTL_S,
    ) -> None:
        self._tenants = tenants
        self._store = store
        self._jobs = jobs
        self._s3 = s3
        self._bucket = bucket
        self._continuation = continuation
        self._reserve_ms = reserve_ms
        self._part_bytes = part_bytes
        self._url_ttl_s = url_ttl_s

    # -- entry points --------------------------------------------------------------------------
    def handle(self, payload: object, time_left_ms: Callable[[], int]) -> ExportOutcome:
        """A direct-invoke payload: a new export request, or the continuation of a running job.

        The payload is the caller's: anything but an object of known fields is refused with the reason."""
        fields = check_payload(payload, REQUEST_FIELDS | CONTINUE_FIELDS)
        if fields.get(CONTINUE_FIELD) is True:
            check_payload(fields, CONTINUE_FIELDS)
            tenant_id = check_tenant_id(fields.get("tenant_id"))  # type: ignore[arg-type]
            job = self.load(tenant_id, check_job_id(fields.get("job_id")))
        else:
            request = ExportRequest.from_payload(fields)
            # No `trace` field is normal for a direct invoke: the job then starts its own trace.
            parent = payload_context(fields, source="export request") if TRACE_FIELD in fields else None
            job = self.start(request, parent=parent)
        return self.run(job, time_left_ms)

    def fail_abandoned(self, abandoned: AbandonedContinuation) -> ExportOutcome:
        """End the job a given-up continuation left running FAILED (a finished job stays as it is)."""
        tenant_id = check_tenant_id(abandoned.tenant_id)
        job = self.load(tenant_id, check_job_id(abandoned.job_id))
        state = _JobState.of(job)
        if job.finished:
            return self._outcome(state, job.status, error=job.error)
        return self._fail(state, ContinuationAbandonedError(abandoned.reason))

    def start(self, request: ExportRequest, *, parent: Context | None = None) -> Job:
        """Check the tenant and entity types, then record the job (or find the one with this id)."""
        tenant = self._tenants.get(request.tenant_id)  # UnknownTenantError for a tenant not in the directory
        refuse_outside_home_region(tenant, self._tenants.region)
        request.schemas()  # UnknownEntityError for an entity type that does not exist
        job_id = request.job_id or new_job_id()
        trace = JobTrace.start(
            ROOT_SPAN,
            parent=parent,
            attributes={
                "tenant.id": request.tenant_id,
                "export.format": request.format.value,
                "export.entity_types": list(request.entities),
                "export.job_id": job_id,
            },
        )
        job = Job(
            job_id=job_id,
            tenant_id=request.tenant_id,
            kind=JobKind.EXPORT,
            status=JobStatus.RUNNING,
            started_at=now_iso(),
            entity_type=",".join(request.entities),
            format=request.format.value,
            total_rows=0,
            trace_id=trace.trace_id_hex,
            trace=trace.to_dict(),
            started_ns=trace.start_time_ns,
            details=export_details(
                entities=request.entities, gzip=request.gzip, bucket=self._bucket, files=()
            ),
        )
        if self._jobs.create(job):
            return job
        return self.load(request.tenant_id, job_id)

    def load(self, tenant_id: str, job_id: str) -> Job:
        """An export job of this tenant; another tenant's job or another kind of job is unknown here."""
        job = self._jobs.get(job_id)
        if job.tenant_id != tenant_id or job.kind is not JobKind.EXPORT:
            raise UnknownJobError(f"unknown export job {job_id!r} for tenant {tenant_id!r}")
        return job

    def run(self, job: Job, time_left_ms: Callable[[], int]) -> ExportOutcome:
        """Export the job's remaining entities while time allows; finish, fail, or continue it."""
        state = _JobState.of(job)
        if job.finished:
            return self._with_urls(self._outcome(state, job.status, error=job.error))
        slowest_ms = 0.0
        for exported_here, entity in enumerate(state.remaining):
            if exported_here and time_left_ms() < max(self._reserve_ms, 2 * slowest_ms):
                return self._continue(state)
            began = time.monotonic()
            try:
                entry = self._export_entity(state, load_entity(entity))
            except _EXPECTED_FAILURES as exc:
                return self._fail(state, exc)
            except Exception as exc:
                self._fail(state, exc)
                raise
            slowest_ms = max(slowest_ms, (time.monotonic() - began) * 1000)
            state.files.append(entry)
            self._jobs.record_progress(job.job_id, records=self._records(state), details=self._details(state))
        return self._finish(state)

    def download_urls(self, outcome: ExportOutcome) -> dict[str, str]:
        """Presigned GET URLs of a finished export's files and manifest, by file name."""
        if outcome.status is not JobStatus.SUCCEEDED or outcome.manifest_key is None:
            return {}
        ttl = self._url_ttl_s
        urls = {
            entry.file_name: presigned_url(self._s3, self._bucket, entry.key, ttl) for entry in outcome.files
        }
        urls[MANIFEST_FILE_NAME] = presigned_url(self._s3, self._bucket, outcome.manifest_key, ttl)
        return urls

    def _with_urls(self, outcome: ExportOutcome) -> ExportOutcome:
        return replace(outcome, urls=self.download_urls(outcome))

    # -- one entity ----------------------------------------------------------------------------
    def _export_entity(self, state: _JobState, schema: EntitySchema) -> ManifestFile:
        tenant_id = state.job.tenant_id
        file_name = state.format.file_name(schema.name, gzip=state.gzip)
        key = export_key(tenant_id, state.job.job_id, file_name)
        attributes = {
            "tenant.id": tenant_id,
            "export.entity_type": schema.name,
            "export.format": state.format.value,
            "export.job_id": state.job.job_id,
        }
        started_ns, upload_s = time.time_ns(), 0.0
        with state.trace.span(f"{ROOT_SPAN}.{schema.name}", attributes=attributes) as span:
            shard_count = self._tenants.get(tenant_id).shard_count  # every shard the tenant's ids map to
            records = RecordGroups(
                self._store.query_entity(tenant_id, schema.name, shard_count), table=self._store.table_name
            )
            serialiser = serialiser_for(state.format, schema.columns)
            with StreamingUpload(
                self._s3,
                self._bucket,
                key,
                gzip=state.gzip,
                content_type=state.format.content_type,
                part_bytes=self._part_bytes,
            ) as upload:
                for chunk in serialiser.chunks(records):
                    began = time.perf_counter()
                    upload.write(chunk)
                    upload_s += time.perf_counter() - began
                began = time.perf_counter()
                result = upload.close()
                upload_s += time.perf_counter() - began
            span.set_attributes({"export.read_seconds": records.read_s, "export.upload_seconds": upload_s})
            span.set_attribute("export.record_count", records.count)
            span.set_attribute("export.bytes", result.bytes)
            span.set_attribute("export.sha256", result.sha256)
        timing = ExportEntityTiming(
            len(state.files), schema.name, records.count, started_ns, records.read_s, upload_s, time.time_ns()
        )
        self._record_timing(state.job.job_id, timing)
        return ManifestFile(
            entity=schema.name,
            file_name=file_name,
            key=key,
            format=state.format.value,
            gzip=state.gzip,
            record_count=records.count,
            bytes=result.bytes,
            sha256=result.sha256,
            schema_version=str(schema.version),
            exported_at=now_iso(),
        )

    def _record_timing(self, job_id: str, timing: ExportEntityTiming) -> None:
        """For `tenantctl explain`; a ledger failure costs the explanation, never the export."""
        try:
            self._jobs.ledger.record_batch_timing(job_id, timing.index, timing.to_dict())
        except Exception:
            logger.warning("could not record export timing", exc_info=True, extra={"job_id": job_id})

    # -- the job's end states --------------------------------------------------------------------
    def _continue(self, state: _JobState) -> ExportOutcome:
        payload = {"tenant_id": state.job.tenant_id, "job_id": state.job.job_id, CONTINUE_FIELD: True}
        self._continuation.dispatch(inject_payload(payload, context=state.trace.context()))
        return self._outcome(state, JobStatus.RUNNING)

    def _finish(self, state: _JobState) -> ExportOutcome:
        job = state.job
        manifest = ExportManifest(
            job_id=job.job_id,
            tenant_id=job.tenant_id,
            format=state.format.value,
            gzip=state.gzip,
            started_at=job.started_at,
            finished_at=now_iso(),
            files=tuple(state.files),
        )
        key = manifest_key(job.tenant_id, job.job_id)
        try:
            with StreamingUpload(self._s3, self._bucket, key, content_type="application/json") as upload:
                upload.write(manifest.to_json())
        except _EXPECTED_FAILURES as exc:
            return self._fail(state, exc)
        finished = self._jobs.succeed(manifest, details=self._details(state, manifest_key=key))
        if finished is not None:
            self._complete_trace(state, error=None)
        return self._with_urls(self._outcome(state, JobStatus.SUCCEEDED, manifest_key=key))

    def _fail(self, state: _JobState, exc: BaseException) -> ExportOutcome:
        reason = str(exc) or type(exc).__name__
        finished = self._jobs.fail(
            state.job.job_id, error=reason, finished_at=now_iso(), details=self._details(state)
        )
        if finished is not None:
            self._complete_trace(state, error=exc)
        return self._outcome(state, JobStatus.FAILED, error=reason)

    def _complete_trace(self, state: _JobState, *, error: BaseException | None) -> None:
        end_ns = time.time_ns()
        state.trace.complete(
            end_time_ns=end_ns,
            attributes={
                "export.total_records": self._records(state),
                "export.file_count": len(state.files),
            },
            error=error,
        )
        pipeline_metrics().record_export_duration((end_ns - state.trace.start_time_ns) / 1e9)

    # -- shapes --------------------------------------------------------------------------------
    @staticmethod
    def _records(state: _JobState) -> int:
        return sum(entry.record_count for entry in state.files)

    def _details(self, state: _JobState, *, manifest_key: str | None = None) -> dict[str, Any]:
        return export_details(
            entities=state.entities,
            gzip=state.gzip,
            bucket=self._bucket,
            files=state.files,
            manifest_key=manifest_key,
        )

    def _outcome(
        self,
        state: _JobState,
        status: JobStatus,
        *,
        manifest_key: str | None = None,
        error: str | None = None,
    ) -> ExportOutcome:
        details_key = state.job.details.get("manifest_key")
        return ExportOutcome(
            job_id=state.job.job_id,
            tenant_id=state.job.tenant_id,
            status=status,
            format=state.format.value,
            gzip=state.gzip,
            bucket=self._bucket,
            files=tuple(state.files),
            trace_id=state.job.trace_id,
            manifest_key=manifest_key or (str(details_key) if details_key else None),
            error=error,
        )
