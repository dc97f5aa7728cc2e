"""The validate job: from an `ObjectCreated` notification to a job with its batches fanned out.

One streaming pass validates every row in batches, writes the error report and spools the valid rows
(rows found to repeat an earlier key only after the pass, in files larger than the key tracker's memory,
are then dropped from the spool and reported at the end of the report); then
either the job ends FAILED_VALIDATION (invalid ratio over the tenant's limit: nothing is loaded) or the
results are recorded (`batches_total` fixed) and the batches are sent.

Legs. A plain CSV or JSON Lines file whose pass outlasts the invocation (its remaining time less
`FINISH_RESERVE_S`, or the `IMPORT_VALIDATION_LEG_SECONDS` cap) or fills its share of `/tmp`
(`imports.legs.ScratchSpace`) is read in legs, one invocation each, each going on from a ranged read
of the same object version (`imports.legs`); the steps after the pass then go on in legs too
(`imports.finishing`), over every leg's parts, so no invocation holds more than one leg's share of the
file. A file read whole in one invocation is finished in it when the time left is at least what the
reading took; else it is finished in legs as well. A gzip file or a JSON array has no place to resume
from: it is read in one invocation, and one that runs out of time ends FAILED with the reason, as does
an invocation left with no time to read at all.

Retries and duplicates. The job id is derived from bucket, key and version (or ETag), and the job is
created with a condition, so a duplicate notification finds the job. A job that is finished or whose
fan-out completed (`fanout_complete`) has nothing left to do: the duplicate is acknowledged. Otherwise
the invocation takes the job's validation lease (one validator per job at a time; a concurrent duplicate
is retried later rather than dropped, so the work is never lost with a crashed holder) and runs the
validation (or its leg) again: same rows, same batch numbers, same messages. Batches that had already been
sent are re-sent and counted once, thanks to the per-batch markers.

Refusals. The tenant comes only from the key. An upload that cannot be attributed to a tenant of the
directory (see `upload_gate`) is recorded in the operator's log of rejected uploads. Otherwise a refused
import (bad key, unknown entity or format, suspended or migrating tenant, object too large, object gone
or replaced) gets a job ending FAILED with the reason and a one-line error report. A migrating tenant's
import is refused, not held: the tenant uploads again once the migration has moved its data, so the
file lands in the tenant's new home region.
A file refused as a whole by validation (encoding, header, gzip cap, ...) ends FAILED_VALIDATION.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Status, StatusCode

from tenant_pipeline.entities import EntitySchema, UnknownEntityError, load_entity
from tenant_pipeline.errors import (
    ImportRefusedError,
    KeyRejectedError,
    ObjectTooLargeError,
    StaleCheckpointError,
    TenantNotActiveError,
    UnknownTenantError,
    ValidationInProgressError,
    ValidationOutOfTimeError,
)
from tenant_pipeline.formats import FileFormat, FileRejectedError, ReadLimits, UnsupportedFormatError
from tenant_pipeline.imports.batch_message import BatchHeader
from tenant_pipeline.imports.completion import ROOT_SPAN, JobCompleter
from tenant_pipeline.imports.fanout import BatchFanout, BatchSpool
from tenant_pipeline.imports.finishing import FinishingStages, LegTime
from tenant_pipeline.imports.home_region import refuse_outside_home_region
from tenant_pipeline.imports.keys import (
    ImportKey,
    attributable_tenant,
    is_internal_key,
    job_id_for,
    parse_import_key,
    report_key,
)
from tenant_pipeline.imports.legs import (
    LegCheckpoint,
    LegParts,
    ScratchSpace,
    Segment,
    Stage,
    leg_request_body,
)
from tenant_pipeline.imports.object_version import object_version
from tenant_pipeline.imports.report import ErrorReport
from tenant_pipeline.imports.routing import ValidationRequest, send_entry
from tenant_pipeline.imports.timings import TimedReads, ValidationTiming
from tenant_pipeline.imports.upload_gate import UploadGate
from tenant_pipeline.imports.verdict import validation_failure
from tenant_pipeline.store.batch_queue import BatchQueue
from tenant_pipeline.store.jobs import Job, JobKind, JobsLedger, JobStatus
from tenant_pipeline.store.objects import ObjectStore, OpenedObject
from tenant_pipeline.store.rejects import RejectsLog
from tenant_pipeline.store.tenants import Tenant, TenantDirectory, TenantStatus, now_iso
from tenant_pipeline.topology import VALIDATION_HANDOVER_DELAY_S, Resource
from tenant_pipeline.validation import (
    KeyTracker,
    Leg,
    PassClock,
    ReadCheckpoint,
    SavedKeys,
    ValidatedBatch,
    ValidationPass,
    duplicate_reason,
    resumable,
)
from tenant_pipeline.validation.duplicates import DEFAULT_MAX_KEYS
from tenant_telemetry import JobTrace, get_tracer, pipeline_metrics
from tenant_telemetry.metrics import ImportStatus
from tenant_telemetry.propagation import inject_message_attributes, object_context

if TYPE_CHECKING:
    from tenant_pipeline.aws import AwsClients
    from tenant_pipeline.settings import PipelineSettings

logger = logging.getLogger(__name__)
VALIDATE_SPAN = "data.import.validate"
ROWS_SPAN = "data.import.validate.rows"
"""Child of the validate span: the one pass that reads, parses and checks every row. The three interleave
in one stream, so the span carries each one's seconds (`import.read_seconds`, `import.parse_seconds`,
`import.check_seconds`) rather than three children."""
REPORT_SPAN = "data.import.report"
"""Child of the validate span: uploading the error report."""
FANOUT_SPAN = "data.import.fanout"
"""Child of the validate span: sending the batch messages."""
_DEFAULT_LEASE_S = 900


@dataclass(frozen=True)
class ObjectCreated:
    """An `ObjectCreated` notification, decoded (the key is already `unquote_plus`-ed)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    leg: int = 1
    """Which leg of the object's validation the request asks for (`imports.legs`)."""


class Outcome(StrEnum):
    IGNORED = "ignored"
    """Not an import: the pipeline's own objects."""
    REJECTED = "rejected"
    """Cannot become a job (no tenant of the directory, wrong folder): recorded by the upload gate."""
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    FAILED_VALIDATION = "failed_validation"
    FANNED_OUT = "fanned_out"
    HANDED_OVER = "handed_over"
    """This leg's part is kept and the next leg is queued (`imports.legs`)."""


@dataclass(frozen=True)
class ValidationResult:
    outcome: Outcome
    job_id: str | None = None
    reason: str | None = None
    batches: int = 0


@dataclass
class _Rows:
    """What one validation pass reads with, and what it counted."""

    entity: EntitySchema
    fmt: FileFormat
    max_invalid_ratio: float
    shard_count: int
    """The tenant's count: every batch message carries it to the loader."""
    total: int = 0
    invalid: int = 0
    read: int = 0
    spooled: int = 0
    rejected: str | None = None
    mapping: Mapping[str, str] | None = None
    renamed: dict[str, str] = field(default_factory=dict)
    """Header names matched to another column name (schema aliases, the tenant's mapping)."""

    def unaccounted(self) -> str | None:
        """Why the counts of a pass do not add up (every record read is valid or invalid), or None."""
        if self.rejected is None and not self.read == self.total == self.spooled + self.invalid:
            return (
                f"counts do not add up: {self.read} records read, {self.total} validated, "
                f"{self.spooled} valid rows queued and {self.invalid} invalid; nothing was loaded"
            )
        return None

    def failure(self) -> str | None:
        """Why the file fails as a whole, or None when its valid rows are to be loaded."""
        return validation_failure(self.total, self.invalid, self.max_invalid_ratio, self.rejected)


@dataclass(frozen=True)
class _Source:
    """The notified object as far as it could be opened."""

    event: ObjectCreated
    tenant_id: str
    import_key: ImportKey | None
    opened: OpenedObject | None
    refusal: ImportRefusedError | None


@dataclass(frozen=True)
class _PassTimes:
    """When the invocation's work began, and its seconds reading and checking rows."""

    started_ns: int
    read_s: float
    check_s: float


FINISH_RESERVE_S = 30.0
"""Time kept, of an invocation's remaining time, to write the report and record the job's end."""


class ImportValidator:
    """Validates one notified object and fans its valid rows out to the loaders."""

    def __init__(
        self,
        *,
        objects: ObjectStore,
        jobs: JobsLedger,
        tenants: TenantDirectory,
        queue: BatchQueue,
        requests: BatchQueue,
        completer: JobCompleter,
        gate: UploadGate,
        batch_rows: int,
        max_object_bytes: int,
        max_legged_object_bytes: int | None = None,
        read_limits: ReadLimits | None = None,
        leg_s: float | None = None,
        handover_delay_s: int = VALIDATION_HANDOVER_DELAY_S,
        key_memory: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._objects = objects
        self._jobs = jobs
        self._tenants = tenants
        self._queue = queue
        self._requests = requests
        self._leg_s = leg_s
        self._handover_delay_s = handover_delay_s
        self._completer = completer
        self._gate = gate
        self._batch_rows = batch_rows
        self._max_object_bytes = max_object_bytes
        self._max_legged_object_bytes = max_legged_object_bytes or max_object_bytes
        self._limits = read_limits or ReadLimits()
        self._key_memory = key_memory
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: PipelineSettings,
        clients: AwsClients,
        *,
        clock: Callable[[], float] = time.time,
        key_memory: int = DEFAULT_MAX_KEYS,
    ) -> ImportValidator:
        jobs = JobsLedger(settings.name(Resource.JOBS_TABLE), clients.dynamodb)
        tenants = TenantDirectory(settings.name(Resource.TENANTS_TABLE), clients.dynamodb)
        return cls(
            objects=ObjectStore(clients.s3),
            jobs=jobs,
            tenants=tenants,
            gate=UploadGate(tenants, RejectsLog(settings.name(Resource.JOBS_TABLE), clients.dynamodb)),
            queue=BatchQueue(clients.sqs, settings.name(Resource.BATCHES_QUEUE)),
            requests=BatchQueue(clients.sqs, settings.name(Resource.VALIDATION_QUEUE)),
            completer=JobCompleter(jobs, max_receives=settings.batches_max_receive_count),
            batch_rows=settings.batch_rows,
            max_object_bytes=settings.max_object_bytes,
            max_legged_object_bytes=settings.max_legged_object_bytes,
            read_limits=ReadLimits(max_decompressed_bytes=settings.max_decompressed_bytes),
            leg_s=settings.validation_leg_s,
            handover_delay_s=settings.validation_handover_delay_s,
            key_memory=key_memory,
            clock=clock,
        )

    # -- entry ---------------------------------------------------------------------------------
    def validate(
        self, event: ObjectCreated, *, remaining_s: float | None = None, final_attempt: bool = False
    ) -> ValidationResult:
        """Run (or resume) the object's import job; raises only for transient failures.

        On the `final_attempt` (the message's last receive before its dead-letter queue) a failure also
        ends the job FAILED with the reason, so the job explains itself instead of staying RUNNING."""
        if is_internal_key(event.key):
            return ValidationResult(Outcome.IGNORED)
        rejected = self._gate.screen(event.bucket, event.key, event.version_id or event.etag)
        tenant_id = attributable_tenant(event.key)
        if rejected is not None or tenant_id is None:
            pipeline_metrics().record_import_errors(1, tenant_id="", error_type="rejected_upload")
            return ValidationResult(Outcome.REJECTED, reason=rejected)
        source = self._open(event, tenant_id)
        try:
            return self._run(source, remaining_s)
        except ValidationInProgressError:
            raise
        except Exception as exc:
            if final_attempt:
                self._give_up(source, exc)
            raise
        finally:
            if source.opened is not None:
                source.opened.close()

    def _give_up(self, source: _Source, exc: Exception) -> None:
        """Record why the job could not be validated; never masks the original failure."""
        reason = f"validation failed on every attempt, last with {type(exc).__name__}: {str(exc)[:300]}"
        try:
            job = self._open_job(source)
            if not job.finished:
                self._completer.fail(job.job_id, JobStatus.FAILED, reason)
        except Exception:
            logger.exception("could not record the failed validation", extra={"key": source.event.key[:300]})

    def _open(self, event: ObjectCreated, tenant_id: str) -> _Source:
        try:
            import_key = parse_import_key(event.key)
        except KeyRejectedError as exc:
            return _Source(event, tenant_id, None, None, exc)
        try:
            opened = self._objects.open(event.bucket, event.key, version_id=event.version_id, etag=event.etag)
        except ImportRefusedError as exc:
            return _Source(event, tenant_id, import_key, None, exc)
        return _Source(event, tenant_id, import_key, opened, None)

    def _run(self, source: _Source, remaining_s: float | None) -> ValidationResult:
        job = self._open_job(source)
        leg = source.event.leg
        if job.finished or job.fanout_complete or leg < job.validation_leg:
            return ValidationResult(Outcome.DUPLICATE, job.job_id)
        now = self._clock()
        lease_until = int(now + (remaining_s if remaining_s is not None else _DEFAULT_LEASE_S)) + 5
        claimed = leg == job.validation_leg and self._jobs.claim_validation(
            job.job_id, now_epoch=int(now), lease_until_epoch=lease_until, leg=leg
        )
        if not claimed:
            current = self._jobs.get(job.job_id)
            if current.finished or current.fanout_complete or leg < current.validation_leg:
                return ValidationResult(Outcome.DUPLICATE, job.job_id)
            raise ValidationInProgressError(
                f"job {job.job_id} is being validated by another invocation (leg {current.validation_leg})"
            )
        job = replace(job, validation_leg=leg)
        deadline = None if remaining_s is None else now + remaining_s - FINISH_RESERVE_S
        try:
            return self._validate_claimed(job, source, deadline)
        except BaseException:
            self._jobs.release_validation(job.job_id)
            raise

    def _open_job(self, source: _Source) -> Job:
        """Create the job (its trace continues the uploader's, if the object carries one), or find it."""
        event, opened = source.event, source.opened
        version = object_version(event.version_id, opened.version_id if opened is not None else None) or (
            event.etag or (opened.etag if opened is not None else "")
        )
        job_id = job_id_for(event.bucket, event.key, version)
        parent = object_context(opened.metadata) if opened is not None and opened.metadata else None
        parts = event.key.split("/")
        entity = parts[3] if len(parts) > 3 and parts[3] else None
        fmt = _format_name(event.key) if source.import_key is not None else None
        trace = JobTrace.start(
            ROOT_SPAN,
            parent=parent,
            attributes={
                "tenant.id": source.tenant_id,
                "import.entity_type": entity or "",
                "import.format": fmt or "",
            },
        )
        job = Job(
            job_id=job_id,
            tenant_id=source.tenant_id,
            kind=JobKind.IMPORT,
            status=JobStatus.RUNNING,
            started_at=now_iso(),
            entity_type=entity,
            source_uri=f"s3://{event.bucket}/{event.key}",
            format=fmt,
            trace_id=trace.trace_id_hex,
            trace=trace.to_dict(),
            started_ns=trace.start_time_ns,
        )
        if self._jobs.create(job):
            return job
        return self._jobs.get(job_id)

    def _validate_claimed(self, job: Job, source: _Source, deadline: float | None) -> ValidationResult:
        trace = JobTrace.from_dict(job.trace) if job.trace else JobTrace.start(ROOT_SPAN)
        with trace.span(VALIDATE_SPAN) as span:
            span.set_attribute("tenant.id", job.tenant_id)
            span.set_attribute("import.job_id", job.job_id)
            try:
                checkpoint = (
                    LegCheckpoint.from_dict(job.validation_checkpoint) if job.validation_checkpoint else None
                )
                if checkpoint is not None and checkpoint.stage is not Stage.READ:
                    # The file is read: finish as the reading left it. Admission is not asked again,
                    # since the verdict may be recorded and batches sent.
                    rows = self._read_rows(source, checkpoint)
                else:
                    rows = self._admitted_rows(source)
            except (ImportRefusedError, UnknownEntityError, UnsupportedFormatError) as exc:
                reason = str(exc) or type(exc).__name__
                span.set_status(Status(StatusCode.ERROR, reason))
                span.set_attribute("import.refused", reason)
                return self._refuse(job, _refusal_field(exc), reason)
            except StaleCheckpointError as exc:
                return self._fail_now(job, span, str(exc))
            try:
                return self._validate_rows(
                    job, source, rows, trace, span, checkpoint=checkpoint, deadline=deadline
                )
            except ValidationOutOfTimeError as exc:
                return self._fail_now(job, span, str(exc))

    def _fail_now(self, job: Job, span: Any, reason: str) -> ValidationResult:
        """Another attempt would fail the same way: the job says why, now."""
        span.set_status(Status(StatusCode.ERROR, reason))
        self._completer.fail(job.job_id, JobStatus.FAILED, reason)
        return ValidationResult(Outcome.FAILED_VALIDATION, job.job_id, reason)

    def _admitted_rows(self, source: _Source) -> _Rows:
        if source.refusal is not None or source.import_key is None or source.opened is None:
            raise source.refusal or ImportRefusedError("the object could not be read")
        tenant, entity, fmt = self._admit(source.import_key, source.opened)
        return _Rows(
            entity=entity,
            fmt=fmt,
            max_invalid_ratio=tenant.max_invalid_ratio,
            mapping=tenant.column_mappings.get(entity.name),
            shard_count=tenant.shard_count,
        )

    def _read_rows(self, source: _Source, checkpoint: LegCheckpoint) -> _Rows:
        """What the finishing legs work with, as the reading found it."""
        if source.import_key is None:
            raise ImportRefusedError("the object's key no longer parses")
        return _Rows(
            entity=load_entity(source.import_key.entity),
            fmt=FileFormat.from_key(source.import_key.key),
            max_invalid_ratio=checkpoint.max_invalid_ratio,
            shard_count=checkpoint.shard_count,
        )

    def _admit(self, import_key: ImportKey, opened: OpenedObject) -> tuple[Tenant, EntitySchema, FileFormat]:
        """Tenant, entity, format and size checks before any row is read."""
        try:
            tenant = self._tenants.get(import_key.tenant_id)
        except UnknownTenantError:
            raise TenantNotActiveError(f"unknown tenant {import_key.tenant_id!r}") from None
        if tenant.status is TenantStatus.MIGRATING:
            raise TenantNotActiveError(
                "tenant is migrating: imports are refused until the migration ends, then upload again"
            )
        if tenant.status is not TenantStatus.ACTIVE:
            raise TenantNotActiveError(f"tenant is {tenant.status.value}; imports are refused")
        refuse_outside_home_region(tenant, self._tenants.region)
        entity = load_entity(import_key.entity)  # its error names the known entities
        fmt = FileFormat.from_key(import_key.key)
        limit = self._max_legged_object_bytes if resumable(fmt) else self._max_object_bytes
        if opened.size > limit:
            kind = "a plain CSV or JSON Lines" if resumable(fmt) else "a gzip or JSON array"
            raise ObjectTooLargeError(
                f"the object is {opened.size} bytes, over the import limit of {limit} bytes for {kind} file"
            )
        return tenant, entity, fmt

    def _refuse(self, job: Job, field: str, reason: str) -> ValidationResult:
        with ErrorReport() as report:
            report.add("", field, (job.source_uri or "").rsplit("/", 1)[-1], reason)
            uri = self._upload_report(job, report)
        self._jobs.record_validation(
            job.job_id, total_rows=0, invalid=0, batches_total=0, report_uri=uri, validated_at=now_iso()
        )
        self._completer.fail(job.job_id, JobStatus.FAILED, reason)
        return ValidationResult(Outcome.REFUSED, job.job_id, reason)

    def _upload_report(self, job: Job, report: ErrorReport) -> str:
        bucket = source_bucket(job)
        with get_tracer().start_as_current_span(REPORT_SPAN, attributes={"aws.s3.bucket": bucket}):
            return report.upload(self._objects, bucket, report_key(job.tenant_id, job.job_id))

    def _validate_rows(
        self,
        job: Job,
        source: _Source,
        rows: _Rows,
        trace: JobTrace,
        span: Any,
        *,
        checkpoint: LegCheckpoint | None,
        deadline: float | None,
    ) -> ValidationResult:
        """Read this leg's share of the file (all of it, unless a plain CSV or JSON Lines file takes
        longer than one invocation), then finish, or hand over to the next leg."""
        if deadline is not None and self._clock() >= deadline:
            raise ValidationOutOfTimeError(
                f"validation ran out of time: the invocation had less than the {FINISH_RESERVE_S:.0f} s it "
                "keeps to record the job, so no leg can make progress (see `tenantctl plan`)"
            )
        leg_ends = deadline if self._leg_s is None else min(deadline or math.inf, self._clock() + self._leg_s)

        def out_of_time() -> bool:
            return leg_ends is not None and self._clock() > leg_ends

        if checkpoint is not None:
            rows.total, rows.invalid, rows.read = checkpoint.total, checkpoint.invalid, checkpoint.read
            rows.rejected = checkpoint.rejected
            rows.renamed.update(checkpoint.renamed)
            if checkpoint.stage is not Stage.READ:
                return self._finish_legs(
                    job,
                    event=source.event,
                    checkpoint=checkpoint,
                    rows=rows,
                    trace=trace,
                    span=span,
                    time_left=LegTime(self._clock, leg_ends),
                )
        assert source.opened is not None  # admitted
        started_ns = time.time_ns()
        body = source.opened.body if checkpoint is None else self._resumed_body(source, checkpoint).body
        timed = TimedReads(body)
        clock = PassClock()
        with (
            ErrorReport() as report,
            BatchSpool(self._batch_rows) as spool,
            self._tracker(job, checkpoint) as keys,
        ):
            # Reading, parsing and checking interleave in one stream: one span, each one's time an attribute.
            pass_span = get_tracer().start_span(ROWS_SPAN)
            pass_started = time.perf_counter()
            validation = ValidationPass(
                timed.stream,
                rows.fmt,
                rows.entity,
                self._limits,
                keys=keys,
                mapping=rows.mapping,
                renamed=rows.renamed,
                clock=clock,
                start=checkpoint.read_point if checkpoint is not None else None,
            )
            scratch = ScratchSpace()
            leg = Leg(validation, lambda: out_of_time() or scratch.full())
            # A resumable pass stops at its leg's end; any other must be read whole before the deadline.
            reading = leg if resumable(rows.fmt) else validation
            try:
                for batch in reading:
                    if reading is validation and deadline is not None and self._clock() > deadline:
                        raise ValidationOutOfTimeError(
                            f"validation ran out of time after {rows.read:,} rows of the file: the "
                            "validator's timeout is too short for it (see `tenantctl plan`)"
                        )
                    kept = time.perf_counter()
                    _keep(batch, rows, report, spool)
                    clock.check_s += time.perf_counter() - kept
            except FileRejectedError as exc:
                rows.rejected = str(exc) or type(exc).__name__
                report.add("", "file", "", rows.rejected)
            finally:
                body.close()
            spool.finish()
            pass_span.set_attributes(
                {
                    "import.read_seconds": timed.seconds,
                    "import.parse_seconds": max(
                        0.0, time.perf_counter() - pass_started - timed.seconds - clock.check_s
                    ),
                    "import.check_seconds": clock.check_s,
                    "import.row_count": rows.total,
                    "import.validation_leg": job.validation_leg,
                }
            )
            pass_span.end()
            stopped = leg.stopped_at if rows.rejected is None else None
            if stopped is not None and stopped.offset >= source.opened.size:
                stopped = None  # it stopped at the object's end: nothing is left to read
            times = _PassTimes(started_ns, timed.seconds, clock.check_s)
            if checkpoint is None and stopped is None and self._time_to_finish(deadline, started_ns):
                return self._finish(
                    job, rows=rows, report=report, spool=spool, keys=keys, trace=trace, span=span, times=times
                )
            following = self._save_read_leg(
                job,
                previous=checkpoint,
                rows=rows,
                report=report,
                spool=spool,
                keys=keys,
                stopped=stopped,
                times=times,
            )
            return self._request_leg(job, source.event, following, trace)

    def _time_to_finish(self, deadline: float | None, started_ns: int) -> bool:
        """Whether a file read in one invocation is finished in it too: when the time left is at least
        what the reading took (the steps after it take less: `tenantctl plan`); else in legs."""
        if deadline is None:
            return True
        return deadline - self._clock() >= (time.time_ns() - started_ns) / 1e9

    def _resumed_body(self, source: _Source, checkpoint: LegCheckpoint) -> OpenedObject:
        """The rest of the object from the checkpoint: a ranged GET of the same version."""
        assert source.opened is not None and checkpoint.read_point is not None
        source.opened.close()
        return self._objects.open(
            source.event.bucket,
            source.event.key,
            version_id=source.opened.version_id,
            etag=source.opened.etag,
            start=checkpoint.read_point.offset,
        )

    def _tracker(self, job: Job, checkpoint: LegCheckpoint | None) -> KeyTracker:
        """The pass's key tracker: new, or as the previous leg saved it."""
        if checkpoint is None:
            return KeyTracker(self._key_memory)
        memory = self._parts(job).keys_memory(job.validation_leg - 1)
        saved = SavedKeys(memory, checkpoint.keys_passed, checkpoint.keys_spilling)
        return KeyTracker.resumed(saved, self._key_memory)

    def _parts(self, job: Job) -> LegParts:
        return LegParts(self._objects, source_bucket(job), job.tenant_id, job.job_id)

    def _save_read_leg(
        self,
        job: Job,
        *,
        previous: LegCheckpoint | None,
        rows: _Rows,
        report: ErrorReport,
        spool: BatchSpool,
        keys: KeyTracker,
        stopped: ReadCheckpoint | None,
        times: _PassTimes,
    ) -> LegCheckpoint:
        """Keep this read leg's parts; returns the checkpoint of the next leg: a read leg from
        `stopped`, or, the file read (or refused), the first finishing stage with work to do."""
        leg = job.validation_leg
        saved = keys.save()
        partitions = self._parts(job).save(
            leg,
            spool=spool.saved(),
            report=report.saved(),
            keys_memory=saved.memory,
            spill_pieces=keys.spill_pieces(),
        )
        spilled = previous.spilled if previous is not None else ()
        spilled = (*spilled, (leg, partitions)) if partitions else spilled
        if stopped is not None:
            stage = Stage.READ
        else:
            stage = Stage.DUPLICATES if spilled and rows.rejected is None else Stage.VERDICT
        now_ns = time.time_ns()
        return LegCheckpoint(
            leg=leg + 1,
            stage=stage,
            read_point=stopped,
            total=rows.total,
            invalid=rows.invalid,
            read=rows.read,
            keys_passed=saved.passed,
            keys_spilling=saved.spilling,
            spilled=spilled,
            rejected=rows.rejected,
            renamed=rows.renamed,
            shard_count=rows.shard_count,
            max_invalid_ratio=rows.max_invalid_ratio,
            segments=(*(previous.segments if previous else ()), Segment(spool.rows, spool.batches)),
            started_ns=previous.started_ns if previous else times.started_ns,
            read_s=(previous.read_s if previous else 0.0) + times.read_s,
            check_s=(previous.check_s if previous else 0.0) + times.check_s,
            pass_ended_ns=now_ns if stopped is None else 0,
        )

    def _request_leg(
        self, job: Job, event: ObjectCreated, checkpoint: LegCheckpoint, trace: JobTrace
    ) -> ValidationResult:
        """Queue the next leg and record its checkpoint in the job."""
        # The request goes out before the job moves on: should this invocation stop in between, its
        # own retry does the leg again. Its delivery delay lets the job reach its leg first.
        body = leg_request_body(
            bucket=event.bucket,
            key=event.key,
            version_id=event.version_id,
            etag=event.etag,
            size=event.size,
            leg=checkpoint.leg,
        )
        request = send_entry(ValidationRequest(body, job.tenant_id), "leg")
        request["DelaySeconds"] = self._handover_delay_s
        request["MessageAttributes"] = inject_message_attributes({}, context=trace.context())
        self._requests.send_batch([request])
        self._jobs.pass_validation_leg(job.job_id, leg=job.validation_leg, checkpoint=checkpoint.to_dict())
        return ValidationResult(Outcome.HANDED_OVER, job.job_id)

    def _finish_legs(
        self,
        job: Job,
        *,
        event: ObjectCreated,
        checkpoint: LegCheckpoint,
        rows: _Rows,
        trace: JobTrace,
        span: Any,
        time_left: LegTime,
    ) -> ValidationResult:
        """The file was read in legs: go on with the finishing stages from the checkpoint, as far as
        this leg's time allows."""
        stages = FinishingStages(
            self._parts(job),
            batch_rows=self._batch_rows,
            key_field=rows.entity.primary_key,
            key_memory=self._key_memory,
            time=time_left,
        )
        cp = replace(checkpoint, leg=job.validation_leg + 1)
        span.set_attributes(
            {"import.validation_leg": job.validation_leg, "import.finish_stage": cp.stage.value}
        )
        if cp.stage is Stage.DUPLICATES:
            cp = stages.resolve_duplicates(cp)
        if cp.stage is Stage.SETTLE:
            cp = stages.settle(cp)
        if cp.stage is Stage.VERDICT:
            with get_tracer().start_as_current_span(
                REPORT_SPAN, attributes={"aws.s3.bucket": source_bucket(job)}
            ):
                cp = stages.join_report(cp, report_key(job.tenant_id, job.job_id))
            if cp.report_uri is None:
                return self._request_leg(job, event, cp, trace)
            rows.invalid = cp.invalid
            rows.spooled = sum(segment.final_rows for segment in cp.segments)
            batches = sum(segment.final_batches for segment in cp.segments)
            failed = self._verdict(job, rows, batches=batches, report_uri=cp.report_uri, span=span)
            if failed is not None:
                return failed
            cp = replace(cp, stage=Stage.FANOUT, next_segment=1, sent=0, fanout_started_ns=time.time_ns())
        if cp.stage is not Stage.FANOUT:
            return self._request_leg(job, event, cp, trace)
        fanout = self._fanout(job, trace)
        with get_tracer().start_as_current_span(FANOUT_SPAN) as fanout_span:
            cp = stages.fan_out(cp, fanout, self._header_for(job, rows))
            fanout_span.set_attribute("import.batch_count", fanout.sent)
        if cp.next_segment <= len(cp.segments):
            return self._request_leg(job, event, cp, trace)
        timing = ValidationTiming(
            cp.started_ns,
            cp.pass_ended_ns,
            cp.read_s,
            cp.fanout_started_ns,
            time.time_ns(),
            check_s=cp.check_s,
        )
        return self._fanned_out(job, sum(segment.final_batches for segment in cp.segments), timing)

    def _finish(
        self,
        job: Job,
        *,
        rows: _Rows,
        report: ErrorReport,
        spool: BatchSpool,
        keys: KeyTracker,
        trace: JobTrace,
        span: Any,
        times: _PassTimes,
    ) -> ValidationResult:
        """After a file read in one invocation: late duplicates, the report, the verdict, the fan-out."""
        key_field = rows.entity.primary_key
        if rows.rejected is None:
            # Past the tracker's memory cap, some repeats are known only now: drop them from the
            # spool and report them (first occurrence in file order stands).
            rows.invalid += spool.exclude(
                keys.later_duplicates(),
                lambda late: report.add(late.line, key_field, late.key, duplicate_reason(late.first_line)),
            )
        pass_ended_ns = time.time_ns()
        rows.spooled = spool.rows
        uri = self._upload_report(job, report)
        failed = self._verdict(job, rows, batches=spool.batches, report_uri=uri, span=span)
        if failed is not None:
            return failed
        fanout = self._fanout(job, trace)
        fanout_started_ns = time.time_ns()
        with get_tracer().start_as_current_span(FANOUT_SPAN) as fanout_span:
            fanout.send_all(spool, self._header_for(job, rows))
            fanout_span.set_attribute("import.batch_count", spool.batches)
        timing = ValidationTiming(
            times.started_ns,
            pass_ended_ns,
            times.read_s,
            fanout_started_ns,
            time.time_ns(),
            check_s=times.check_s,
        )
        span.set_attribute("import.claim_checks", fanout.claim_checks)
        return self._fanned_out(job, spool.batches, timing)

    def _verdict(
        self, job: Job, rows: _Rows, *, batches: int, report_uri: str, span: Any
    ) -> ValidationResult | None:
        """Record the validation's counts; ends the job and returns its result if nothing is to be loaded."""
        span.set_attributes(
            {
                "import.row_count": rows.total,
                "import.validation_errors": rows.invalid,
                "import.entity_type": rows.entity.name,
                "import.format": job.format or "",
            }
        )
        self._count_invalid(job, rows)
        unaccounted = rows.unaccounted()
        failure = unaccounted or rows.failure()
        self._jobs.record_validation(
            job.job_id,
            total_rows=rows.total,
            invalid=rows.invalid,
            batches_total=0 if failure else batches,
            report_uri=report_uri,
            validated_at=now_iso(),
            details={"column_mapping": rows.renamed} if rows.renamed else None,
        )
        if failure is None:
            return None
        span.set_status(Status(StatusCode.ERROR, failure))
        status = JobStatus.FAILED if unaccounted else JobStatus.FAILED_VALIDATION
        self._completer.fail(job.job_id, status, failure)
        return ValidationResult(Outcome.FAILED_VALIDATION, job.job_id, failure)

    def _fanout(self, job: Job, trace: JobTrace) -> BatchFanout:
        return BatchFanout(
            self._queue,
            self._objects,
            claim_bucket=source_bucket(job),
            message_attributes=inject_message_attributes({}, context=trace.context()),
        )

    def _header_for(self, job: Job, rows: _Rows) -> Callable[[int, int], BatchHeader]:
        """The header of the job's batch messages, by batch number and row count."""
        columns = tuple(rows.entity.columns)

        def header(number: int, row_count: int) -> BatchHeader:
            return BatchHeader(
                job_id=job.job_id,
                tenant_id=job.tenant_id,
                entity=rows.entity.name,
                batch_number=number,
                row_count=row_count,
                columns=columns,
                shard_count=rows.shard_count,
            )

        return header

    def _fanned_out(self, job: Job, batches: int, timing: ValidationTiming) -> ValidationResult:
        """Every batch is sent: record where the time went and that the fan-out is complete."""
        self._record_timing(job.job_id, timing)
        self._jobs.mark_fanout_complete(job.job_id)
        if batches == 0:
            self._completer.try_complete(job.job_id)
        return ValidationResult(Outcome.FANNED_OUT, job.job_id, batches=batches)

    def _record_timing(self, job_id: str, timing: ValidationTiming) -> None:
        """A ledger failure here costs the job's explanation, never the import."""
        try:
            self._jobs.record_phase_timings(job_id, {"validation": timing.to_dict()})
        except Exception:
            logger.warning("could not record validation timing", exc_info=True, extra={"job_id": job_id})

    def _count_invalid(self, job: Job, rows: _Rows) -> None:
        if rows.invalid:
            instruments = pipeline_metrics()
            instruments.record_import_records(
                rows.invalid, tenant_id=job.tenant_id, status=ImportStatus.INVALID
            )
            instruments.record_import_errors(rows.invalid, tenant_id=job.tenant_id, error_type="invalid_row")


def _keep(batch: ValidatedBatch, rows: _Rows, report: ErrorReport, spool: BatchSpool) -> None:
    """Count a checked batch, report its invalid rows and spool its valid ones."""
    rows.total += batch.total
    rows.read += batch.read
    if batch.invalid:
        rows.invalid += len(batch.invalid)
        for invalid in batch.invalid:
            report.add_row_errors(invalid.line, invalid.errors)
    spool.add_batch(batch.lines, batch.rows)


def source_bucket(job: Job) -> str:
    """The bucket of the job's source object (claim checks and reports live beside it)."""
    return (job.source_uri or "").removeprefix("s3://").split("/", 1)[0]


def _format_name(key: str) -> str | None:
    """The file's format as the job shows it, None if unsupported."""
    try:
        fmt = FileFormat.from_key(key)
    except UnsupportedFormatError:
        return None
    return fmt.name


def _refusal_field(exc: Exception) -> str:
    """The report's `field` for a refusal: what part of the upload is wrong."""
    if isinstance(exc, UnknownEntityError):
        return "entity"
    if isinstance(exc, KeyRejectedError):
        return "key"
    if isinstance(exc, TenantNotActiveError):
        return "tenant"
    if isinstance(exc, UnsupportedFormatError):
        return "format"
    if isinstance(exc, ObjectTooLargeError):
        return "size"
    return "object"
