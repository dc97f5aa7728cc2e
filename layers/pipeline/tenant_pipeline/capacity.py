"""A capacity model of the pipelines on AWS: each phase's wall time, the limit that binds, the cost.

It is a model, not a measurement of AWS. It multiplies per-unit costs that `make bench` measures on
one CPU (validator CPU seconds per GB, loader CPU per item, spool and batch-message bytes per row,
snapshot CPU per GB) by AWS's documented quotas and by the shipped settings in `topology`. Network
waits are left out except where a constant says so (each such constant is marked as an assumption).
Every quota names where AWS documents it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.capacity_validation import Stage, ValidationModel
from tenant_pipeline.store.jobs import JOB_COUNTER_SHARDS

# --- AWS Lambda (Lambda Developer Guide, "Lambda quotas" and "Configure Lambda function memory") ---
LAMBDA_MB_PER_VCPU = 1769
"""At 1,769 MB a function has the equivalent of one vCPU; CPU share is proportional to memory."""
LAMBDA_MAX_MEMORY_MB = 10_240
LAMBDA_MAX_EPHEMERAL_MB = 10_240
"""`/tmp` is configurable from 512 MB to 10,240 MB ("Lambda quotas": ephemeral storage)."""
LAMBDA_MAX_TIMEOUT_S = 900
"""Function timeout, 15 minutes ("Lambda quotas")."""
LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY = 1_000
"""Concurrent executions per Region, default quota ("Lambda quotas")."""

# --- SQS event source mappings (Lambda Developer Guide, "Using Lambda with Amazon SQS") ---
SQS_ESM_MIN_MAXIMUM_CONCURRENCY = 2
SQS_ESM_MAX_MAXIMUM_CONCURRENCY = 1_000
"""`MaximumConcurrency` of an SQS event source accepts 2 to 1,000 ("Configuring maximum concurrency")."""
SQS_ESM_INITIAL_CONCURRENCY = 5
"""Lambda starts polling a standard queue with five concurrent batches ("Scaling behavior")."""
SQS_ESM_SCALE_UP_PER_MINUTE = 300
"""While messages wait, Lambda adds up to 300 concurrent invocations per minute ("Scaling behavior")."""
SQS_MAX_MESSAGE_BYTES = 256 * 1024
"""Message size limit the fan-out is built for ("Amazon SQS message quotas")."""
SQS_SEND_BATCH_ENTRIES = 10
"""Entries per SendMessageBatch / DeleteMessageBatch ("Amazon SQS message quotas")."""

# --- SQS fair queues (SQS Developer Guide, "How Amazon SQS fair queues work") ---
# A tenant (message group) is noisy once it holds over 10% of a queue's messages in flight and at least 30
# of them, or over 10% of the consumers' recent processing time; SQS then returns the quiet tenants'
# messages first, to whichever consumer polls next. A big import is noisy by either measure from its first
# loaders on (five of them hold 50 messages); how fast SQS detects it is not documented: the model takes
# it as at once.

# --- DynamoDB (DynamoDB Developer Guide) ---
DYNAMODB_PARTITION_WCU = 1_000
"""Write units per second one partition serves ("Partitions and data distribution")."""
DYNAMODB_WRITE_UNIT_BYTES = 1_024
"""A standard write unit covers an item of up to 1 KB ("Read/write capacity mode")."""
DYNAMODB_NEW_ON_DEMAND_TABLE_WCU = 4_000
"""A new on-demand table sustains up to 4,000 writes/s at first ("On-demand capacity mode": initial
throughput)."""
DYNAMODB_ON_DEMAND_RAMP_S = 30 * 60
"""On-demand accommodates double the previous peak within 30 minutes ("Peak traffic and scaling
properties")."""
DYNAMODB_TABLE_MAX_WCU = 40_000
"""Per-table write throughput, default quota ("Service, account, and table quotas": per table)."""
DYNAMODB_BATCH_WRITE_ITEMS = 25
"""Items per BatchWriteItem call ("BatchWriteItem", API Reference)."""
DYNAMODB_TRANSACTION_WRITE_UNITS_PER_ITEM = 2
"""A transactional write costs two write units per item of up to 1 KB ("Capacity management for
transactions")."""

# --- Step Functions (Developer Guide, "Step Functions service quotas") ---
SFN_MAX_PAYLOAD_BYTES = 256 * 1024
"""Maximum input or output of a task, state or execution; past it: `States.DataLimitExceeded`."""
SFN_MAX_HISTORY_EVENTS = 25_000
"""Events in one Standard execution's history."""
SFN_INLINE_MAP_EVENTS_PER_ITEM = 7
"""One inline Map iteration with one Lambda Task: MapIterationStarted, TaskStateEntered,
LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded, TaskStateExited,
MapIterationSucceeded ("Execution event history" event types)."""
SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000
"""Child workflow executions a Distributed Map runs in parallel ("Distributed map state")."""
SFN_STANDARD_MAX_DURATION_S = 365 * 24 * 3600
"""Longest run of a Standard workflow execution: one year ("Step Functions service quotas")."""
SFN_TASK_EVENTS = 5
"""History events of one Lambda task: TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded,
TaskStateExited ("Execution event history" event types)."""
SFN_CHOICE_EVENTS = 2
"""ChoiceStateEntered and ChoiceStateExited."""
SFN_ITEM_READER_MAX_FILE_BYTES = 10 * 1024**3
"""Largest JSON file a Distributed Map's `ItemReader` reads from S3: 10 GB (Developer Guide, "ItemReader
(Map)")."""
LAMBDA_MAX_RESPONSE_BYTES = 6 * 1024**2
"""Synchronous invocation payload, request and response: 6 MB ("Lambda quotas")."""

# --- Prices: AWS public price pages, us-east-1, on-demand, published 2025-06-01; free tiers ignored ---
PRICES_DATE = "2025-06-01"
LAMBDA_GB_SECOND_USD = 0.0000166667  # x86_64
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
LAMBDA_EPHEMERAL_GB_SECOND_USD = 0.0000000309  # /tmp above the free 512 MB
SQS_REQUEST_USD = 0.40 / 1_000_000  # standard queue, per 64 KB chunk
DYNAMODB_WRITE_UNIT_USD = 0.625 / 1_000_000  # on-demand write request unit
DYNAMODB_READ_UNIT_USD = 0.125 / 1_000_000  # on-demand read request unit
S3_PUT_CLASS_USD = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_GET_CLASS_USD = 0.0004 / 1000  # GET, HEAD
SFN_STATE_TRANSITION_USD = 0.025 / 1000  # Standard workflows

# --- Assumptions (not AWS quotas): the round trips the model cannot measure on a laptop ---
ASSUMED_BATCH_WRITE_LATENCY_S = 0.015
"""An in-Region BatchWriteItem of 25 items, round trip (assumption; the loader waits on it)."""
ASSUMED_TRANSACTION_S = 0.02
"""An in-Region TransactWriteItems of two small items, round trip: while it runs, another transaction
on one of its items cancels it with `TransactionConflict` (assumption)."""
COUNTER_CONFLICT_TARGET = 0.10
"""Share of a batch's counting tries that may conflict: with `store.jobs.CONFLICT_ATTEMPTS` (6) tries,
a batch then runs out of them about once in a million."""
ASSUMED_SMALL_VALIDATION_S = 0.5
"""One validation of a file of a few rows: about a dozen in-Region round trips (S3 GET, DynamoDB reads and
writes, a SendMessageBatch) of tens of ms each (assumption; CPU is negligible at that size)."""
ASSUMED_ROUTE_INVOCATION_S = 0.05
"""One router invocation: ten notifications in one SendMessageBatch round trip (assumption)."""
ASSUMED_S3_COPY_BYTES_PER_S = 50e6
"""Server-side CopyObject between Regions, bytes per second of one sequential copier (assumption)."""
ITEM_KEY_OVERHEAD_BYTES = 60
"""Bytes a stored item adds to its row: `pk`, `sk` and attribute names (approximate)."""
DEFAULT_CHUNK_ITEMS = 1_000
"""Items per migration snapshot chunk (`migration.request.DEFAULT_CHUNK_ITEMS`)."""
CHUNK_STATE_ENTRY_BYTES = 83
"""Bytes one chunk adds to a migration's execution state when the state lists the chunks."""
MIGRATION_FIXED_EVENTS = 40
"""History events of the migration's states outside the legs' loops (its execution, the validate,
freeze and cutover tasks, the Pass and Choice states, the Distributed Map's own events)."""
LEGGED_STATE_BYTES = 16 * 1024
"""The largest execution state with the three phases' cursors: tests/integration/migration/
test_migration_legs.py holds every state under it (keys and figures, never lists)."""
LEG_RESPONSE_BYTES = 4 * 1024
"""A leg's reply: its cursor (a resume key of at most 3 KB, DynamoDB's key size limits) and figures."""
CHUNK_INDEX_ENTRY_BYTES = 280
"""One chunk's item in the chunk index, with a 63-character tenant id (measured: `ChunkInfo.index_entry`)."""
MANIFEST_CHUNK_BYTES = 330
"""One chunk in the manifest (indented JSON), with a 63-character tenant id (measured likewise)."""
MANIFEST_MEMORY_PER_BYTE = 4
"""Memory a leg needs per manifest byte to read it: the body and its parse (json peaks near 2.8x its
text; measured with tracemalloc on a 100,000-chunk manifest)."""
SMALL_TENANT_ROWS = 100
PARTITIONS = "rate: dynamodb partitions (shards x 1,000 WCU)"
TENANT_WRITE_GOAL_ROWS_PER_S = 25_000
"""The sustained rate one tenant's entity is sized for: the count new tenants get meets it."""


@dataclass(frozen=True)
class UnitCosts:
    """Per-unit costs on one CPU, measured by `make bench` (see `bench/capacity.py`)."""

    validate_cpu_s_per_gb: Mapping[str, float]
    """Validator CPU seconds per GB (1e9 bytes) of input, by format (`csv`, `jsonl`)."""
    spool_bytes_per_input_byte: float
    """`/tmp` the validator's spool of valid rows takes per input byte."""
    batch_message_bytes_per_row: float
    """Bytes of a batch message body per row carried."""
    load_cpu_s_per_item: float
    """Loader CPU seconds per stored item (decode, transform, BatchWriteItem requests)."""
    snapshot_cpu_s_per_gb: float
    """Migration snapshot CPU seconds per GB of items (canonical encoding, gzip, checksum)."""
    spill_bytes_per_row: float
    """`/tmp` the key tracker's spill takes per row past its memory (`KeyTracker`)."""
    resolve_cpu_s_per_spilled_row: float
    """CPU seconds to resolve one spilled row's partition, split again included (`later_duplicates`)."""
    exclude_cpu_s_per_gb: float
    """CPU seconds to rewrite a GB of spool without its late duplicates (`BatchSpool.exclude`)."""
    gzip_bytes_per_content_byte: float
    """Bytes of a gzip file per byte of its content (generated contacts CSV)."""
    gunzip_cpu_s_per_gb: float
    """CPU seconds to decompress a GB of content."""
    source: str = "bench"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "validate_cpu_s_per_gb": dict(self.validate_cpu_s_per_gb)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UnitCosts:
        return cls(
            validate_cpu_s_per_gb={k: float(v) for k, v in data["validate_cpu_s_per_gb"].items()},
            spool_bytes_per_input_byte=float(data["spool_bytes_per_input_byte"]),
            batch_message_bytes_per_row=float(data["batch_message_bytes_per_row"]),
            load_cpu_s_per_item=float(data["load_cpu_s_per_item"]),
            snapshot_cpu_s_per_gb=float(data["snapshot_cpu_s_per_gb"]),
            spill_bytes_per_row=float(data["spill_bytes_per_row"]),
            resolve_cpu_s_per_spilled_row=float(data["resolve_cpu_s_per_spilled_row"]),
            exclude_cpu_s_per_gb=float(data["exclude_cpu_s_per_gb"]),
            gzip_bytes_per_content_byte=float(data["gzip_bytes_per_content_byte"]),
            gunzip_cpu_s_per_gb=float(data["gunzip_cpu_s_per_gb"]),
            source=str(data.get("source", "bench")),
        )


RECORDED_UNIT_COSTS = UnitCosts(
    validate_cpu_s_per_gb={"csv": 52.4, "jsonl": 32.7},
    spool_bytes_per_input_byte=1.24,
    batch_message_bytes_per_row=106.0,
    load_cpu_s_per_item=55.6e-6,
    snapshot_cpu_s_per_gb=101.0,
    spill_bytes_per_row=29.2,
    resolve_cpu_s_per_spilled_row=2.0e-6,
    exclude_cpu_s_per_gb=3.8,
    gzip_bytes_per_content_byte=0.244,
    gunzip_cpu_s_per_gb=2.5,
    source="recorded from a quick `make bench` run on a 2-core laptop (2026-12; the legs' costs 2026-12-06)",
)
"""What `tenantctl plan` uses when it is given no `bench/results.json`."""


@dataclass(frozen=True)
class Settings:
    """The settings the model evaluates; `shipped()` reads them from `topology`."""

    validator_memory_mb: int
    validator_timeout_s: int
    validator_ephemeral_mb: int
    loader_memory_mb: int
    loader_max_concurrency: int | None
    batch_rows: int
    shard_count: int
    """Shards of the tenant modelled: a new tenant's count (existing tenants keep 8)."""
    max_object_bytes: int
    """Admission of a file read in one invocation (gzip, JSON arrays)."""
    max_legged_object_bytes: int
    """Admission of a file read in legs (plain CSV, JSON Lines)."""
    max_decompressed_bytes: int
    """Admission of a gzip file's content, decompressed."""
    validator_leg_read_s: float | None
    """How long a validation leg reads at most; None: until its invocation's budget is used."""
    migration_memory_mb: int
    migration_timeout_s: int
    fair_batches: bool = False
    """Batch messages carry the tenant as `MessageGroupId` (SQS fair queues)."""
    fair_validation: bool = False
    """Uploads are re-queued for validation with the tenant as `MessageGroupId` (SQS fair queues)."""
    migration_state_lists_chunks: bool = True
    """The migration's execution state carries every chunk (else only the manifest's key)."""
    migration_phases_chunked: bool = False
    """Snapshot, transfer and verify resume across invocations instead of running in one."""
    table_wcu: int = DYNAMODB_TABLE_MAX_WCU
    loader_timeout_s: int = topology.IMPORT_LOAD.timeout_s
    job_counter_shards: int = JOB_COUNTER_SHARDS
    """Items a job's batches count on (`store.jobs`); 1 is a counter on the job item itself."""

    @classmethod
    def shipped(cls) -> Settings:
        return cls(
            validator_memory_mb=topology.IMPORT_VALIDATE.memory_mb,
            validator_timeout_s=topology.IMPORT_VALIDATE.timeout_s,
            validator_ephemeral_mb=topology.IMPORT_VALIDATE.ephemeral_storage_mb,
            loader_memory_mb=topology.IMPORT_LOAD.memory_mb,
            loader_max_concurrency=topology.LOADER_EVENT_SOURCE.maximum_concurrency,
            batch_rows=topology.DEFAULT_BATCH_ROWS,
            shard_count=topology.NEW_TENANT_SHARD_COUNT,
            max_object_bytes=topology.DEFAULT_MAX_OBJECT_BYTES,
            max_legged_object_bytes=topology.DEFAULT_MAX_LEGGED_OBJECT_BYTES,
            max_decompressed_bytes=topology.DEFAULT_MAX_DECOMPRESSED_BYTES,
            validator_leg_read_s=topology.VALIDATION_LEG_READ_S,
            migration_memory_mb=topology.MIGRATION.memory_mb,
            migration_timeout_s=topology.MIGRATION.timeout_s,
            fair_batches=topology.BATCHES_QUEUE.fair_by_tenant,
            fair_validation=topology.VALIDATION_QUEUE.fair_by_tenant,
            # infra/statemachines/tenant_migration.asl.json: the state holds the chunk index's key and a
            # Distributed Map reads the index from S3, its children keeping their own histories.
            migration_state_lists_chunks=False,
            # infra/statemachines/tenant_migration.asl.json: snapshot, transfer and verify loop over legs.
            migration_phases_chunked=True,
        )


def vcpu_share(memory_mb: int) -> float:
    """CPU one Python thread gets at `memory_mb`: proportional to memory, at most one vCPU."""
    return min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)


def write_units_per_item(row_bytes: float) -> int:
    return max(1, math.ceil((row_bytes + ITEM_KEY_OVERHEAD_BYTES) / DYNAMODB_WRITE_UNIT_BYTES))


@dataclass(frozen=True)
class Phase:
    """One phase of a job: its wall time, each limit's use (1.0 = at the limit), and its cost."""

    name: str
    wall_s: float
    usage: Mapping[str, float]
    cost_usd: float
    note: str = ""
    legs: int = 1
    """Invocations the phase takes one after another (its legs)."""
    stages: tuple[Phase, ...] = ()
    """The phase's stages, when it runs in several (validation in legs); its usage is theirs."""

    @property
    def binding(self) -> str:
        return max(self.usage, key=lambda name: self.usage[name]) if self.usage else ""

    @property
    def fits(self) -> bool:
        """True when no per-invocation or per-request limit is exceeded (rates only slow a phase)."""
        return all(use <= 1.0 for name, use in self.usage.items() if not name.startswith("rate:"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wall_s": self.wall_s,
            "binding": self.binding,
            "fits": self.fits,
            "usage": dict(self.usage),
            "cost_usd": self.cost_usd,
            "note": self.note,
            "legs": self.legs,
            **({"stages": [stage.to_dict() for stage in self.stages]} if self.stages else {}),
        }


@dataclass(frozen=True)
class Plan:
    """A job's phases. `kind` is `import` or `migration`."""

    kind: str
    rows: int
    row_bytes: int
    tenants: int
    phases: tuple[Phase, ...]
    figures: Mapping[str, float] = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        return sum(phase.wall_s for phase in self.phases)

    @property
    def cost_usd(self) -> float:
        return sum(phase.cost_usd for phase in self.phases)

    @property
    def fits(self) -> bool:
        return all(phase.fits for phase in self.phases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "capacity model: measured unit costs x documented AWS quotas; not a measurement of AWS",
            "kind": self.kind,
            "rows": self.rows,
            "row_bytes": self.row_bytes,
            "tenants": self.tenants,
            "wall_s": self.wall_s,
            "cost_usd": self.cost_usd,
            "fits": self.fits,
            "phases": [phase.to_dict() for phase in self.phases],
            "figures": dict(self.figures),
        }


class CapacityModel:
    """Plans imports and migrations for given unit costs and settings."""

    def __init__(self, costs: UnitCosts, settings: Settings | None = None) -> None:
        self.costs = costs
        self.settings = settings or Settings.shipped()

    # --- import ---------------------------------------------------------------------------------

    def validate_phase(self, file_bytes: float, file_format: str = "csv", row_bytes: float = 200) -> Phase:
        """Validation of `file_bytes` of content (decompressed, for a gzip file) in one invocation or in
        legs (`capacity_validation`): its stages, each one's legs, time, limits and cost."""
        model = ValidationModel(self.costs, self.settings, vcpu_share(self.settings.validator_memory_mb))
        validation = model.plan(file_bytes, file_format, row_bytes)
        stages = tuple(self._priced(stage) for stage in validation.stages)
        legs = validation.legs
        if validation.one_invocation:
            note = "one invocation reads and finishes the file (CPU-bound at its memory's vCPU share)"
        else:
            note = f"{legs:,} legs: " + ", ".join(f"{stage.name} {stage.legs:,}" for stage in stages)
        return Phase(
            name="validate",
            wall_s=validation.wall_s,
            usage={
                **validation.admission,
                **{name: use for stage in stages for name, use in stage.usage.items()},
            },
            cost_usd=sum(stage.cost_usd for stage in stages),
            note=note,
            legs=legs,
            stages=stages if not validation.one_invocation else (),
        )

    def _priced(self, stage: Stage) -> Phase:
        s = self.settings
        gb_s = stage.work_s * s.validator_memory_mb / 1024
        extra_tmp_gb_s = stage.work_s * max(0, s.validator_ephemeral_mb - 512) / 1024
        cost = (
            gb_s * LAMBDA_GB_SECOND_USD
            + extra_tmp_gb_s * LAMBDA_EPHEMERAL_GB_SECOND_USD
            + stage.legs * LAMBDA_REQUEST_USD
            + stage.s3_puts * S3_PUT_CLASS_USD
            + stage.s3_gets * S3_GET_CLASS_USD
            + stage.sqs_requests * SQS_REQUEST_USD
            + stage.dynamodb_writes * DYNAMODB_WRITE_UNIT_USD
        )
        return Phase(stage.name, stage.work_s, stage.usage, cost, legs=stage.legs)

    def loader_items_per_s_per_invocation(self) -> float:
        per_item = self.costs.load_cpu_s_per_item / vcpu_share(self.settings.loader_memory_mb)
        return 1.0 / (per_item + ASSUMED_BATCH_WRITE_LATENCY_S / DYNAMODB_BATCH_WRITE_ITEMS)

    def loader_concurrency_to_fill_table(self, row_bytes: float = 200) -> int:
        """Loader invocations that write at the table's quota: more only meet throttling."""
        table_items_per_s = self.settings.table_wcu / write_units_per_item(row_bytes)
        return math.ceil(table_items_per_s / self.loader_items_per_s_per_invocation())

    def shards_for_rate(self, rows_per_s: float, row_bytes: float = 200) -> int:
        """Shards (partitions of 1,000 WCU/s) one tenant's entity needs to write `rows_per_s`."""
        return math.ceil(rows_per_s * write_units_per_item(row_bytes) / DYNAMODB_PARTITION_WCU)

    def loader_concurrency_for_rate(self, rows_per_s: float) -> int:
        """Loader invocations that together write `rows_per_s` (each at its modelled rate)."""
        return math.ceil(rows_per_s / self.loader_items_per_s_per_invocation())

    def throttled_loader_invocation(self, row_bytes: float) -> dict[str, float]:
        """One loader invocation's wall time when every loader writes the same tenant's entity.

        The loaders then offer more than the tenant's shards take; DynamoDB refuses the excess, and
        the store retries it (`UnprocessedItems`, backoff) until the shards have taken every item: an
        invocation's share of the shards' rate sets its time, retries included. It must end well
        inside the timeout, else batches would be retried (and, after 5 receives, dead-lettered)."""
        s = self.settings
        concurrency = s.loader_max_concurrency or LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
        per_invocation = self.loader_items_per_s_per_invocation()
        offered = concurrency * per_invocation
        taken = min(offered, self.write_rates(row_bytes, 1)[PARTITIONS])
        items = topology.LOADER_EVENT_SOURCE.batch_size * s.batch_rows
        wall_s = items / (taken / concurrency)
        return {
            "wall_s": wall_s,
            "throttled_share": 1 - taken / offered,
            "timeout_use": wall_s / s.loader_timeout_s,
        }

    def write_rates(self, row_bytes: float, tenants: int = 1) -> dict[str, float]:
        """Steady items/s all `tenants` (each importing one entity) can write, by limit."""
        s = self.settings
        wcu = write_units_per_item(row_bytes)
        concurrency = s.loader_max_concurrency or LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
        return {
            "rate: dynamodb partitions (shards x 1,000 WCU)": tenants
            * s.shard_count
            * DYNAMODB_PARTITION_WCU
            / wcu,
            "rate: dynamodb table throughput": s.table_wcu / wcu,
            "rate: loader concurrency": concurrency * self.loader_items_per_s_per_invocation(),
        }

    def load_phase(self, items: int, row_bytes: float, tenants: int = 1) -> Phase:
        """Writes of `items` per tenant, stepped through the ESM scale-up and the table's ramp.

        A rate limit's usage is the share of the phase's wall time it was the one that bound.
        """
        s, c = self.settings, self.costs
        rates = self.write_rates(row_bytes, tenants)
        steady = min(rates.values())
        concurrency_cap = s.loader_max_concurrency or LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
        per_invocation = self.loader_items_per_s_per_invocation()
        wcu = write_units_per_item(row_bytes)
        partitions_key, table_key, loader_key = rates
        bound: dict[str, float] = dict.fromkeys(rates, 0.0)
        remaining, t = float(items * tenants), 0.0
        while remaining > 0:
            concurrency = min(
                concurrency_cap, SQS_ESM_INITIAL_CONCURRENCY + SQS_ESM_SCALE_UP_PER_MINUTE * t / 60
            )
            doublings = int(t // DYNAMODB_ON_DEMAND_RAMP_S)
            table_wcu = min(s.table_wcu, DYNAMODB_NEW_ON_DEMAND_TABLE_WCU * 2**doublings)
            now = {
                partitions_key: rates[partitions_key],
                table_key: table_wcu / wcu,
                loader_key: concurrency * per_invocation,
            }
            limit = min(now, key=lambda name: now[name])
            rate = now[limit]
            ramped = concurrency == concurrency_cap and table_wcu == s.table_wcu
            step = math.inf if ramped else (1.0 if t < 600 else 60.0)
            used = min(step, remaining / rate)
            bound[limit] += used
            remaining -= rate * used
            t += used
        total = items * tenants
        usage = {name: seconds / t for name, seconds in bound.items()} if t else dict.fromkeys(bound, 0.0)
        messages = math.ceil(items / s.batch_rows) * tenants
        message_bytes = s.batch_rows * c.batch_message_bytes_per_row
        claim_checked = message_bytes > SQS_MAX_MESSAGE_BYTES
        usage["sqs message size"] = min(message_bytes, SQS_MAX_MESSAGE_BYTES) / SQS_MAX_MESSAGE_BYTES
        usage["lambda timeout (loader, throttled)"] = self.throttled_loader_invocation(row_bytes)[
            "timeout_use"
        ]
        invocation_s = total / per_invocation
        chunks_per_message = math.ceil(min(message_bytes, SQS_MAX_MESSAGE_BYTES) / 65536)
        sqs_requests = messages * chunks_per_message + 2 * messages / SQS_SEND_BATCH_ENTRIES
        cost = (
            invocation_s * s.loader_memory_mb / 1024 * LAMBDA_GB_SECOND_USD
            + messages / 10 * LAMBDA_REQUEST_USD
            + total * wcu * DYNAMODB_WRITE_UNIT_USD
            # counting each batch once: its marker and a counter shard, in one transaction
            + messages * 2 * DYNAMODB_TRANSACTION_WRITE_UNITS_PER_ITEM * DYNAMODB_WRITE_UNIT_USD
            + sqs_requests * SQS_REQUEST_USD
            + (messages * (S3_PUT_CLASS_USD + S3_GET_CLASS_USD) if claim_checked else 0.0)
        )
        return Phase(
            name="load",
            wall_s=t,
            usage=usage,
            cost_usd=cost,
            note=f"steady {steady:,.0f} items/s; the table starts at "
            f"{DYNAMODB_NEW_ON_DEMAND_TABLE_WCU:,} WCU/s and doubles every 30 min"
            + ("; batches over the SQS size go by claim-check" if claim_checked else ""),
        )

    def plan_import(self, rows: int, row_bytes: int, *, file_format: str = "csv", tenants: int = 1) -> Plan:
        """`tenants` tenants each import a file of `rows` rows of `row_bytes` at the same time."""
        validate = self.validate_phase(rows * row_bytes, file_format, row_bytes)
        load = self.load_phase(rows, row_bytes, tenants)
        waits = self.small_tenant_wait_s(rows, row_bytes, tenants)
        return Plan(
            kind="import",
            rows=rows,
            row_bytes=row_bytes,
            tenants=tenants,
            phases=(validate, load),
            figures={
                "tenant_write_rows_per_s": self.tenant_write_rows_per_s(row_bytes),
                "small_tenant_wait_s": waits["shipped"],
                "small_tenant_wait_fair_s": waits["fair"],
                "job_counter_conflict_share": self.counter_conflict_share(row_bytes),
                "small_tenant_wait_arrival_order_s": waits["arrival"],
            },
        )

    def tenant_write_rows_per_s(self, row_bytes: float) -> float:
        """Sustained rows/s of one tenant's entity once the table has ramped."""
        return min(self.write_rates(row_bytes, 1).values())

    def job_batches_per_s(self, row_bytes: float) -> float:
        """The most batches/s one job can count: however its tenant's writes are sharded, the table's
        write quota bounds them."""
        return self.settings.table_wcu / write_units_per_item(row_bytes) / self.settings.batch_rows

    def counter_conflict_share(self, row_bytes: float = 200, shards: int | None = None) -> float:
        """Share of counting transactions another batch's transaction cancels, at the job's peak rate.

        Each counter item takes `batches/s / shards` transactions a second; one conflicts when another
        on the same item starts within its window either side (Poisson arrivals)."""
        per_item = self.job_batches_per_s(row_bytes) / (shards or self.settings.job_counter_shards)
        return 1.0 - math.exp(-2 * per_item * ASSUMED_TRANSACTION_S)

    def small_tenant_wait_s(self, big_rows: int, row_bytes: int, tenants: int = 1) -> dict[str, float]:
        """A 100-row import's wait when it lands just after `tenants` tenants' big files have fanned out.

        `arrival`: a standard queue without message groups promises no order; arrival order is its worst
        case, the model's p99: the small batch waits for the whole backlog. `fair`: the big tenants are
        noisy (see "SQS fair queues" above), so SQS hands the small batch to the next loader that polls:
        it waits, at worst (p99), for one loader to finish a whole batch of the big tenant's messages,
        plus the mapping's batching window. `shipped` is the one the settings give.
        """
        per_invocation = self.loader_items_per_s_per_invocation()
        batch_rows = self.settings.batch_rows
        small_validate = self.validate_phase(SMALL_TENANT_ROWS * row_bytes).wall_s
        small_load = min(batch_rows, SMALL_TENANT_ROWS) / per_invocation
        loader = topology.LOADER_EVENT_SOURCE  # a loader invocation takes up to batch_size messages
        big_invocation = loader.batch_size * batch_rows / per_invocation
        fair = small_validate + loader.max_batching_window_s + big_invocation + small_load
        arrival = small_validate + self.load_phase(big_rows, row_bytes, tenants).wall_s + small_load
        return {"fair": fair, "arrival": arrival, "shipped": fair if self.settings.fair_batches else arrival}

    def small_upload_wait_beside_flood_s(self, flood_files: int) -> dict[str, float]:
        """A few-row upload's wait for its validation when another tenant has just uploaded `flood_files`
        files of a few rows each (by `ASSUMED_SMALL_VALIDATION_S`).

        Both ways the routers re-queue the flood first (ten notifications an invocation, scaling as below).
        `arrival`: the small upload waits for every flood validation before it, done by the validator's
        event source mapping as it scales (five concurrent at first, 300 more a minute). `fair`: it waits
        for one validation slot to free. `shipped` is the one the settings give.
        """
        router, validator = topology.ROUTER_EVENT_SOURCE, topology.VALIDATOR_EVENT_SOURCE
        route_work_s = math.ceil(flood_files / router.batch_size) * ASSUMED_ROUTE_INVOCATION_S
        route_s = scaling_drain_s(
            route_work_s, router.maximum_concurrency or LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
        )
        cap = validator.maximum_concurrency or LAMBDA_DEFAULT_ACCOUNT_CONCURRENCY
        backlog_s = scaling_drain_s(flood_files * ASSUMED_SMALL_VALIDATION_S, cap)
        fair = route_s + 2 * ASSUMED_SMALL_VALIDATION_S
        arrival = route_s + backlog_s + ASSUMED_SMALL_VALIDATION_S
        return {
            "fair": fair,
            "arrival": arrival,
            "shipped": fair if self.settings.fair_validation else arrival,
        }

    def largest_admitted_import_bytes(self, row_bytes: int = 200, file_format: str = "csv") -> float:
        """The largest file of `file_format` (`csv`, `jsonl`, `json`, each optionally `.gz`; content bytes)
        whose validation meets no single invocation's limit, admission included."""
        return _largest(lambda size: self.validate_phase(size, file_format, row_bytes).fits, 1e6, 1e15)

    # --- migration ------------------------------------------------------------------------------

    def plan_migration(self, items: int, row_bytes: int, chunk_items: int = DEFAULT_CHUNK_ITEMS) -> Plan:
        s, c = self.settings, self.costs
        data_gb = items * (row_bytes + ITEM_KEY_OVERHEAD_BYTES) / 1e9
        chunks = math.ceil(items / chunk_items)
        vcpu = vcpu_share(s.migration_memory_mb)
        snapshot_s = data_gb * c.snapshot_cpu_s_per_gb / vcpu
        transfer_s = data_gb * 1e9 / 3 / ASSUMED_S3_COPY_BYTES_PER_S  # gzip: about a third of the bytes
        verify_s = 2 * snapshot_s
        legs = {
            name: self.migration_legs(seconds)
            for name, seconds in (("snapshot", snapshot_s), ("transfer", transfer_s), ("verify", verify_s))
        }
        if s.migration_state_lists_chunks:
            state_bytes = chunks * CHUNK_STATE_ENTRY_BYTES
            history = MIGRATION_FIXED_EVENTS + chunks * SFN_INLINE_MAP_EVENTS_PER_ITEM
        else:
            state_bytes = LEGGED_STATE_BYTES if s.migration_phases_chunked else 512
            history = MIGRATION_FIXED_EVENTS + sum(legs.values()) * (SFN_TASK_EVENTS + SFN_CHOICE_EVENTS)
        load = self.load_phase(items, row_bytes)
        read_units = items * write_units_per_item(row_bytes) / 2  # eventually consistent reads: 4 KB per unit
        manifest_memory = (
            chunks * MANIFEST_CHUNK_BYTES * MANIFEST_MEMORY_PER_BYTE / (s.migration_memory_mb * 2**20)
        )
        wall_s = snapshot_s + transfer_s + load.wall_s + verify_s
        phases = (
            Phase(
                "snapshot",
                snapshot_s,
                {
                    "lambda timeout": self._invocation_s(snapshot_s) / s.migration_timeout_s,
                    "step functions payload": state_bytes / SFN_MAX_PAYLOAD_BYTES,
                    "lambda response": LEG_RESPONSE_BYTES / LAMBDA_MAX_RESPONSE_BYTES,
                    "lambda memory (manifest)": manifest_memory,
                },
                snapshot_s * s.migration_memory_mb / 1024 * LAMBDA_GB_SECOND_USD
                + read_units * DYNAMODB_READ_UNIT_USD
                + chunks * S3_PUT_CLASS_USD,
                note=f"{legs['snapshot']} leg(s)",
                legs=legs["snapshot"],
            ),
            Phase(
                "transfer",
                transfer_s,
                {
                    "lambda timeout": self._invocation_s(transfer_s) / s.migration_timeout_s,
                    "lambda memory (manifest)": manifest_memory,
                },
                chunks * S3_PUT_CLASS_USD,
                note=f"{legs['transfer']} leg(s)",
                legs=legs["transfer"],
            ),
            replace(
                load,
                name="load target",
                usage={
                    **load.usage,
                    "step functions history": history / SFN_MAX_HISTORY_EVENTS,
                    "distributed map item file": chunks
                    * CHUNK_INDEX_ENTRY_BYTES
                    / SFN_ITEM_READER_MAX_FILE_BYTES,
                    "step functions execution time": wall_s / SFN_STANDARD_MAX_DURATION_S,
                },
            ),
            Phase(
                "verify",
                verify_s,
                {
                    "lambda timeout": self._invocation_s(verify_s) / s.migration_timeout_s,
                    "lambda memory (manifest)": manifest_memory,
                },
                verify_s * s.migration_memory_mb / 1024 * LAMBDA_GB_SECOND_USD
                + 2 * read_units * DYNAMODB_READ_UNIT_USD,
                note=f"{legs['verify']} leg(s)",
                legs=legs["verify"],
            ),
        )
        return Plan(
            kind="migration",
            rows=items,
            row_bytes=row_bytes,
            tenants=1,
            phases=phases,
            figures={
                "chunks": chunks,
                "state_bytes": state_bytes,
                "history_events": history,
                **{f"{name}_legs": count for name, count in legs.items()},
            },
        )

    def migration_legs(self, phase_s: float) -> int:
        """Invocations a phase of `phase_s` takes: one, or one per leg of the timeout less the reserve."""
        if not self.settings.migration_phases_chunked:
            return 1
        return max(
            1, math.ceil(phase_s / (self.settings.migration_timeout_s - topology.MIGRATION_LEG_RESERVE_S))
        )

    def _invocation_s(self, phase_s: float) -> float:
        """The longest single invocation of a phase: all of it, or one leg."""
        if not self.settings.migration_phases_chunked:
            return phase_s
        return min(phase_s, self.settings.migration_timeout_s - topology.MIGRATION_LEG_RESERVE_S)

    def largest_migration_items(self, row_bytes: int = 200) -> float:
        return _largest(lambda n: self.plan_migration(int(n), row_bytes).fits, 1_000, 1e13)


def scaling_drain_s(work_s: float, max_concurrency: int) -> float:
    """Wall time an SQS event source mapping takes to do `work_s` of invocation time, scaling from
    `SQS_ESM_INITIAL_CONCURRENCY` by `SQS_ESM_SCALE_UP_PER_MINUTE` up to `max_concurrency`."""
    start, per_s = SQS_ESM_INITIAL_CONCURRENCY, SQS_ESM_SCALE_UP_PER_MINUTE / 60
    ramp_s = max(0.0, (max_concurrency - start) / per_s)
    ramp_work = start * ramp_s + per_s * ramp_s**2 / 2
    if work_s >= ramp_work:
        return ramp_s + (work_s - ramp_work) / max_concurrency
    # start * t + per_s * t^2 / 2 = work_s
    return (-start + math.sqrt(start**2 + 2 * per_s * work_s)) / per_s


def _largest(fits: Callable[[float], bool], low: float, high: float) -> float:
    """The largest x in [low, high] with `fits(x)`, for a `fits` that turns false once (0 if none)."""
    if not fits(low):
        return 0.0
    if fits(high):
        return high
    while high / low > 1.001:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


TABLE_FILE_SIZES = (1e6, 100e6, 1e9, 5e9, 10e9, 50e9)
"""File sizes the model's table shows, 1 MB to 50 GB."""


def size_rows(
    model: CapacityModel, row_bytes: int = 200, sizes: tuple[float, ...] = TABLE_FILE_SIZES
) -> list[dict[str, Any]]:
    """One row per file size: each phase's time and binding limit, whether it fits, and the cost."""
    rows = []
    for size in sizes:
        plan = model.plan_import(int(size // row_bytes), row_bytes)
        validate, load = plan.phases
        rows.append(
            {
                "file": _size_text(size),
                "rows": f"{plan.rows:,}",
                "validate_s": f"{validate.wall_s:,.0f}",
                "validate_legs": _legs_text(validate),
                "validate_binds": f"{validate.binding} {validate.usage[validate.binding]:.0%}",
                "load_s": f"{load.wall_s:,.0f}",
                "load_binds": load.binding.removeprefix("rate: "),
                "fits": "yes" if plan.fits else "NO",
                "cost_usd": f"{plan.cost_usd:,.2f}",
            }
        )
    return rows


SIZE_COLUMNS = (
    ("file", "file"),
    ("rows", "rows"),
    ("validate_s", "validate s"),
    ("validate_legs", "validate legs"),
    ("validate_binds", "validate: binding limit (use)"),
    ("load_s", "load s"),
    ("load_binds", "load: binding limit"),
    ("fits", "fits"),
    ("cost_usd", "cost $"),
)


def _legs_text(validate: Phase) -> str:
    """`1`, or the read legs plus the finishing stages' legs."""
    if not validate.stages:
        return "1"
    read = sum(stage.legs for stage in validate.stages if stage.name == "read")
    return f"{read} + {validate.legs - read}"


def _size_text(size: float) -> str:
    return f"{size / 1e9:g} GB" if size >= 1e9 else f"{size / 1e6:g} MB"
