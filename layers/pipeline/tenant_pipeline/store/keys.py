"""Key layout of the three tables, in one place.

- tenants:     pk=`TENANT#{tenant_id}`  sk=`TENANT` (the entry) or `TOMBSTONE` (left when its data was erased)
- jobs:        pk=`JOB#{job_id}`        sk=`JOB` (the job), `BATCH#{n:06d}` (a finished batch's marker),
               `COUNT#{k:02d}` (one shard of the job's batch counter), `FAILED#{n:06d}` (a batch that
               went to the dead-letter queue, with why) or `TIMING#{n:06d}` (where a batch's time went,
               for `tenantctl explain`). Sort order puts the counter shards, the failures and the job
               next to each other (`COUNT#` < `FAILED#` < `JOB`), so one Query reads a job's state;
               only job items carry `tenant_id`/`started_key`, so the others stay out of `jobs-by-tenant`;
               pk=`MIGRATION#{tenant_id}` sk=`{migration_id}`: a migration's record.
- tenant-data: pk=`{tenant}#{entity}#{shard}` sk=`{record_id}`, shard = CRC-32 of the id modulo the
               tenant's shard count (recorded in its directory entry): stable across processes and
               languages, so any reader that takes the tenant's count finds every item.
"""

from __future__ import annotations

import re
import zlib

from tenant_pipeline.errors import InvalidTenantIdError
from tenant_pipeline.topology import MAX_SHARD_COUNT

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
JOB_SK = "JOB"
TENANT_SK = "TENANT"
TOMBSTONE_SK = "TOMBSTONE"
_BATCH_PREFIX = "BATCH#"
TIMING_PREFIX = "TIMING#"
COUNTER_PREFIX = "COUNT#"
FAILED_PREFIX = "FAILED#"


def check_tenant_id(tenant_id: str) -> str:
    """The tenant id itself, if it matches the allowed pattern."""
    if not isinstance(tenant_id, str) or not TENANT_ID_PATTERN.fullmatch(tenant_id):
        raise InvalidTenantIdError(f"tenant id {tenant_id!r} does not match {TENANT_ID_PATTERN.pattern}")
    return tenant_id


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


def migration_pk(tenant_id: str) -> str:
    return f"MIGRATION#{tenant_id}"


def batch_sk(batch_number: int) -> str:
    return f"{_BATCH_PREFIX}{batch_number:06d}"


def batch_number_of(sk: str) -> int:
    """Inverse of `batch_sk`."""
    return int(sk.removeprefix(_BATCH_PREFIX))


def started_key(started_at: str, job_id: str) -> str:
    """Sort key of `jobs-by-tenant`: ISO time first (newest first when descending), id breaks ties."""
    return f"{started_at}#{job_id}"


def check_shard_count(shard_count: int) -> int:
    """The count itself, if a tenant may have it (1 to `MAX_SHARD_COUNT`)."""
    if (
        isinstance(shard_count, bool)
        or not isinstance(shard_count, int)
        or not 1 <= shard_count <= MAX_SHARD_COUNT
    ):
        raise ValueError(f"a shard count must be an integer from 1 to {MAX_SHARD_COUNT}, got {shard_count!r}")
    return shard_count


def shard_of(record_id: str, shard_count: int) -> int:
    return zlib.crc32(record_id.encode()) % shard_count


def data_pk(tenant_id: str, entity: str, shard: int) -> str:
    return f"{tenant_id}#{entity}#{shard}"


def record_pk(tenant_id: str, entity: str, record_id: str, shard_count: int) -> str:
    return data_pk(tenant_id, entity, shard_of(record_id, shard_count))


def batch_timing_sk(batch_number: int) -> str:
    return f"{TIMING_PREFIX}{batch_number:06d}"


def counter_sk(shard: int) -> str:
    return f"{COUNTER_PREFIX}{shard:02d}"


def failed_batch_sk(batch_number: int) -> str:
    return f"{FAILED_PREFIX}{batch_number:06d}"
