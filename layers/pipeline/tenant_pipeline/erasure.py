"""Erasing a tenant: its records in every region's store, its objects in every bucket, then a tombstone.

The erasure is a job (kind `deletion`, root span `tenant.deletion`) recorded in the tenant's home region.
It is refused while the tenant migrates or has an import or export running (their writes could land
after the erasure). First every directory entry of the tenant becomes a tombstone, so nothing new
arrives (uploads are rejected with the reason, exports and migrations find no tenant); then each region
is erased: the tenant's partitions of tenant-data, and every version of every object under the tenant's
prefixes of the ingest (uploads, error reports, claim checks), export and snapshot buckets. The job
ends with what was removed, per region. Only keys derived from the tenant id are touched: partitions
`{tenant}#...` and prefixes ending in `/`, so `acme` never reaches `acme-corp`.

A failed erasure leaves the tombstones; running it again (the tenant is then known only by them)
erases what is left.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenant_pipeline.errors import PipelineError, TenantStatusConflictError, UnknownTenantError
from tenant_pipeline.export.keys import export_prefix
from tenant_pipeline.imports.keys import batches_prefix, report_key
from tenant_pipeline.migration.snapshot_store import snapshot_prefix
from tenant_pipeline.migration.tenant_items import TenantItems
from tenant_pipeline.store.client_errors import as_store_error
from tenant_pipeline.store.jobs import Job, JobKind, JobsLedger, JobStatus
from tenant_pipeline.store.keys import check_tenant_id
from tenant_pipeline.store.tenants import Tenant, TenantDirectory, TenantStatus, now_iso
from tenant_telemetry import JobTrace

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ROOT_SPAN = "tenant.deletion"
REGION_SPAN = "tenant.deletion.region"
JOB_ID_PREFIX = "del-"
_DELETE_OBJECTS_LIMIT = 1000
_MARK = "\0"


class ErasureRefusedError(PipelineError):
    """The tenant cannot be erased now (migrating, jobs running) or is not known at all."""


@dataclass(frozen=True)
class RegionStores:
    """What holds a tenant's data in one region."""

    region: str
    directory: TenantDirectory
    items: TenantItems
    s3: S3Client
    ingest_bucket: str
    export_bucket: str
    snapshot_bucket: str


def _folder_of(key_with_mark: str) -> str:
    """The folder a key layout puts under the tenant, cut where the (marked) job id starts."""
    return key_with_mark.split(_MARK, 1)[0]


def object_prefixes(tenant_id: str) -> dict[str, tuple[str, ...]]:
    """Per bucket role, the prefixes that hold only this tenant's objects (each ends with `/`)."""
    check_tenant_id(tenant_id)
    ingest = [
        f"tenants/{tenant_id}/",
        _folder_of(report_key(tenant_id, _MARK)),
        _folder_of(batches_prefix(tenant_id, _MARK)),
    ]
    # A folder inside another is erased with it: keep the outermost ones.
    outermost = sorted({p for p in ingest if not any(p != q and p.startswith(q) for q in ingest)})
    return {
        "ingest": tuple(outermost),
        "export": (_folder_of(export_prefix(tenant_id, _MARK)),),
        "snapshot": (_folder_of(snapshot_prefix(tenant_id, _MARK)),),
    }


def _versions(s3: S3Client, bucket: str, prefix: str) -> Iterator[dict[str, str]]:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield {"Key": entry["Key"], "VersionId": entry.get("VersionId") or "null"}


def delete_every_version(s3: S3Client, bucket: str, prefix: str) -> int:
    """Delete every version (and delete marker) under `prefix`; returns how many objects had any."""
    if not prefix.endswith("/"):
        raise ValueError(f"refusing to erase under {prefix!r}: a prefix must be a whole folder")
    keys: set[str] = set()
    batch: list[dict[str, str]] = []
    try:
        for version in _versions(s3, bucket, prefix):
            keys.add(version["Key"])
            batch.append(version)
            if len(batch) == _DELETE_OBJECTS_LIMIT:
                _delete(s3, bucket, batch)
                batch = []
        if batch:
            _delete(s3, bucket, batch)
    except ClientError as exc:
        raise as_store_error(exc, f"erase s3://{bucket}/{prefix}") from exc
    return len(keys)


def _delete(s3: S3Client, bucket: str, objects: list[dict[str, str]]) -> None:
    reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})  # type: ignore[typeddict-item]
    errors = reply.get("Errors", [])
    if errors:
        first = errors[0]
        raise PipelineError(
            f"could not delete {len(errors)} object(s) of s3://{bucket}, first {first.get('Key')}: "
            f"{first.get('Code')}"
        )


class TenantEraser:
    """Erases one tenant everywhere, as one job of its home region."""

    def __init__(
        self,
        regions: Sequence[RegionStores],
        ledgers: Callable[[str], JobsLedger],
        new_job_id: Callable[[], str] = lambda: f"{JOB_ID_PREFIX}{uuid.uuid4().hex[:24]}",
    ) -> None:
        self._regions = list(regions)
        self._ledgers = ledgers
        self._new_job_id = new_job_id

    def entries(self, tenant_id: str) -> dict[str, Tenant]:
        """The tenant's directory entries, by region."""
        found: dict[str, Tenant] = {}
        for stores in self._regions:
            try:
                found[stores.region] = stores.directory.get(tenant_id)
            except UnknownTenantError:
                continue
        return found

    def check(self, tenant_id: str) -> str:
        """The home region of a tenant that may be erased now; raises `ErasureRefusedError` otherwise."""
        check_tenant_id(tenant_id)
        entries = self.entries(tenant_id)
        if not entries:
            buried = [stores.region for stores in self._regions if stores.directory.tombstone(tenant_id)]
            if not buried:
                raise ErasureRefusedError(f"unknown tenant {tenant_id!r}")
            return buried[0]  # erased before, perhaps in part: erase what is left
        if any(entry.status is TenantStatus.MIGRATING for entry in entries.values()):
            raise ErasureRefusedError(
                f"tenant {tenant_id!r} is migrating; delete it after the migration ends"
            )
        home = next(
            (region for region, entry in entries.items() if entry.home_region == region),
            next(iter(entries)),
        )
        running = [
            job.job_id
            for region in entries
            for job in self._ledgers(region).list_for_tenant(tenant_id, limit=100)
            if job.status is JobStatus.RUNNING and job.kind in (JobKind.IMPORT, JobKind.EXPORT)
        ]
        if running:
            raise ErasureRefusedError(
                f"tenant {tenant_id!r} has {len(running)} job(s) running ({', '.join(running[:3])}); "
                "delete it once they have finished"
            )
        return home

    def shard_count(self, tenant_id: str) -> int:
        """The tenant's shard count, from an entry or (an erasure run again) from a tombstone."""
        for entry in self.entries(tenant_id).values():
            return entry.shard_count
        for stores in self._regions:
            tombstone = stores.directory.tombstone(tenant_id)
            if tombstone is not None:
                return tombstone.shard_count
        raise ErasureRefusedError(f"unknown tenant {tenant_id!r}")

    def erase(self, tenant_id: str) -> Job:
        """Check, record the job, bury the tenant, erase every region; the finished job counts it all."""
        home = self.check(tenant_id)
        shard_count = self.shard_count(tenant_id)
        ledger = self._ledgers(home)
        trace = JobTrace.start(ROOT_SPAN, attributes={"tenant.id": tenant_id})
        job = Job(
            job_id=self._new_job_id(),
            tenant_id=tenant_id,
            kind=JobKind.DELETION,
            status=JobStatus.RUNNING,
            started_at=now_iso(),
            total_rows=0,
            trace_id=trace.trace_id_hex,
            trace=trace.to_dict(),
            started_ns=trace.start_time_ns,
        )
        ledger.create(job)
        removed: dict[str, dict[str, int]] = {}
        try:
            self._bury(tenant_id, job.job_id, shard_count)
            for stores in self._regions:
                with trace.span(
                    REGION_SPAN, attributes={"tenant.id": tenant_id, "cloud.region": stores.region}
                ) as span:
                    removed[stores.region] = self._erase_region(stores, tenant_id, shard_count)
                    for what, count in removed[stores.region].items():
                        span.set_attribute(f"deletion.{what}", count)
        except Exception as exc:
            details = {"removed": removed}
            ledger.finish(
                job.job_id, JobStatus.FAILED, finished_at=now_iso(), error=str(exc)[:500], details=details
            )
            trace.complete(error=exc)
            raise
        totals = totals_of(removed)
        finished = ledger.finish(
            job.job_id,
            JobStatus.SUCCEEDED,
            finished_at=now_iso(),
            details={"removed": removed, "totals": totals},
        )
        trace.complete(attributes={f"deletion.{what}": count for what, count in totals.items()})
        return finished or ledger.get(job.job_id)

    def _bury(self, tenant_id: str, job_id: str, shard_count: int) -> None:
        deleted_at = now_iso()  # one moment for every region's tombstone
        for stores in self._regions:
            try:
                stores.directory.bury(
                    tenant_id, job_id=job_id, shard_count=shard_count, deleted_at=deleted_at
                )
            except UnknownTenantError:
                continue  # no entry in this region (or buried before)
            except TenantStatusConflictError as exc:
                raise ErasureRefusedError(str(exc)) from None

    @staticmethod
    def _erase_region(stores: RegionStores, tenant_id: str, shard_count: int) -> dict[str, int]:
        prefixes = object_prefixes(tenant_id)
        buckets = {
            "ingest": stores.ingest_bucket,
            "export": stores.export_bucket,
            "snapshot": stores.snapshot_bucket,
        }
        counts = {"records": stores.items.delete_tenant(tenant_id, shard_count)}
        names = {"ingest": "uploads_and_reports", "export": "export_files", "snapshot": "snapshot_files"}
        for role, bucket in buckets.items():
            counts[names[role]] = sum(delete_every_version(stores.s3, bucket, p) for p in prefixes[role])
        return counts


def totals_of(removed: dict[str, dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in removed.values():
        for what, count in counts.items():
            totals[what] = totals.get(what, 0) + int(count)
    return totals
