"""The one source of resource names and settings, shared by the CDK app and the local AWS.

`infra/` declares these resources for real; `tenantctl local up` creates the same ones on the
embedded AWS. Both read this module, so the two worlds cannot drift. Physical names differ
(CloudFormation generates them in AWS; the local AWS uses `local_name`), and both publish them as
SSM parameters under `SSM_PREFIX`, which is how functions' callers (`tenantctl`) discover them.
Functions receive them as environment variables named by `env_var`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PROJECT = "tenant-pipelines"
SSM_PREFIX = f"/{PROJECT}"
DEFAULT_REGIONS = ("us-east-1", "eu-west-1")

IMPORT_KEY_PREFIX = "tenants/"
"""Objects created under this prefix of the ingest bucket start an import."""
REPORTS_KEY_PREFIX = "reports/"
"""Error reports, `reports/{tenant}/{job_id}/errors.csv`: outside the notified prefix, so writing one
starts nothing, and still one folder per tenant."""
BATCHES_KEY_PREFIX = "batches/"
"""Claim-check batches, `batches/{tenant}/{job_id}/{n}.json`: outside the notified prefix too."""
BATCHES_EXPIRY_DAYS = 1
"""A claim-check object is read within the batches queue's retention; after a day it is only clutter."""


@dataclass(frozen=True)
class KeyFilter:
    """An S3 notification filter: S3 matches only a key prefix and a key suffix."""

    prefix: str
    suffix: str = ""

    def filter_rules(self) -> list[dict[str, str]]:
        """The `Filter.Key.FilterRules` of a `PutBucketNotificationConfiguration` call."""
        rules = [{"Name": "prefix", "Value": self.prefix}]
        if self.suffix:
            rules.append({"Name": "suffix", "Value": self.suffix})
        return rules

    def matches(self, key: str) -> bool:
        """Whether S3 would send a notification for an object created at `key`."""
        return key.startswith(self.prefix) and key.endswith(self.suffix)


INGEST_NOTIFICATION = KeyFilter(prefix=IMPORT_KEY_PREFIX)
"""Which created objects of the ingest bucket reach the ingest queue: uploads only, never our own."""


@dataclass(frozen=True)
class ExpiryRule:
    """A lifecycle rule that expires the objects under `prefix` after `days`."""

    prefix: str
    days: int

    def lifecycle_rule(self) -> dict[str, object]:
        """The rule as a `PutBucketLifecycleConfiguration` call takes it."""
        return {
            "ID": f"expire-{self.prefix.strip('/')}",
            "Status": "Enabled",
            "Filter": {"Prefix": self.prefix},
            "Expiration": {"Days": self.days},
        }


INGEST_EXPIRY = (ExpiryRule(prefix=BATCHES_KEY_PREFIX, days=BATCHES_EXPIRY_DAYS),)
"""Lifecycle expirations of the ingest bucket."""


class Resource(StrEnum):
    """Every resource a caller may need to find, by its logical key."""

    INGEST_BUCKET = "ingest-bucket"
    EXPORT_BUCKET = "export-bucket"
    SNAPSHOT_BUCKET = "snapshot-bucket"
    TENANT_DATA_TABLE = "tenant-data-table"
    JOBS_TABLE = "jobs-table"
    TENANTS_TABLE = "tenants-table"
    INGEST_QUEUE = "ingest-events-queue"
    INGEST_DLQ = "ingest-events-dlq"
    VALIDATION_QUEUE = "validation-requests-queue"
    VALIDATION_DLQ = "validation-requests-dlq"
    BATCHES_QUEUE = "import-batches-queue"
    BATCHES_DLQ = "import-batches-dlq"
    EXPORT_FAILURES_QUEUE = "export-failures-queue"
    EXPORT_FAILURES_DLQ = "export-failures-dlq"
    MIGRATION_STATE_MACHINE = "migration-state-machine"
    EXPORT_FUNCTION = "export-function"
    MIGRATION_FUNCTION = "migration-function"

    @property
    def env_var(self) -> str:
        """Environment variable through which a function receives the physical name."""
        return self.value.upper().replace("-", "_")

    @property
    def ssm_parameter(self) -> str:
        """SSM parameter holding the physical name (or URL / ARN) in each region."""
        return f"{SSM_PREFIX}/{self.value}"

    def local_name(self, region: str) -> str:
        """Physical name on the local AWS. Buckets are global, so their names carry the region."""
        base = f"{PROJECT}-{self.value}"
        return f"{base}-{region}" if self.value.endswith("-bucket") else base


@dataclass(frozen=True)
class QueueSettings:
    """An SQS queue with its dead-letter queue."""

    queue: Resource
    dlq: Resource
    visibility_timeout_s: int
    max_receive_count: int
    retention_s: int = 4 * 24 * 3600
    dlq_retention_s: int = 14 * 24 * 3600
    fair_by_tenant: bool = False
    """Senders set `MessageGroupId` to the tenant id: SQS then delivers this standard queue fairly across
    tenants (fair queues, no queue setting needed), serving quiet tenants before a noisy one's backlog."""


@dataclass(frozen=True)
class FunctionSettings:
    """A Lambda function: its code folder under `functions/` and its limits."""

    name: str
    memory_mb: int
    timeout_s: int
    ephemeral_storage_mb: int = 512

    @property
    def code_dir(self) -> str:
        return f"functions/{self.name}"

    @property
    def handler(self) -> str:
        return "handler.lambda_handler"

    @property
    def module(self) -> str:
        """Import path of the handler module in the local runtime."""
        return f"functions.{self.name}.handler"


@dataclass(frozen=True)
class EventSourceSettings:
    """An SQS event source mapping: which queue feeds which function, and how."""

    queue: QueueSettings
    function: FunctionSettings
    batch_size: int
    max_batching_window_s: int
    report_batch_item_failures: bool = True
    maximum_concurrency: int | None = None
    """Invocations the mapping runs at most (`MaximumConcurrency`); None: up to the account's limit."""


# The validator reads a gzip file or a JSON array in one invocation, and a plain file in legs, so it
# gets what the largest of those needs (`tenant_pipeline.capacity`, checked by tests/unit/pipeline/
# test_capacity.py and test_capacity_validation.py): one full vCPU (the validator is one Python thread;
# more memory buys no more CPU), Lambda's longest timeout, and the largest `/tmp`, which holds a file's
# spool of valid rows, or a leg's.
IMPORT_VALIDATE = FunctionSettings(
    name="import_validate", memory_mb=1769, timeout_s=900, ephemeral_storage_mb=10_240
)
IMPORT_LOAD = FunctionSettings(name="import_load", memory_mb=512, timeout_s=120)
IMPORT_ROUTE = FunctionSettings(name="import_route", memory_mb=256, timeout_s=30)
"""Re-queues upload notifications under their tenant's message group: no file is read, so it is small."""
EXPORT = FunctionSettings(name="export", memory_mb=512, timeout_s=900)
MIGRATION = FunctionSettings(name="migration", memory_mb=1024, timeout_s=900)
MIGRATION_LEG_RESERVE_S = 60
"""Time a leg of snapshot, transfer or verify leaves unused of its invocation: enough to write its chunk list
(or the manifest, after the last leg) and flush its spans; the state machine then starts the next leg."""
IMPORT_RECONCILE = FunctionSettings(name="import_reconcile", memory_mb=256, timeout_s=60)
"""Records the batches in the batches DLQ on their jobs (`imports.dead_letters`)."""
FUNCTIONS = (IMPORT_ROUTE, IMPORT_VALIDATE, IMPORT_LOAD, EXPORT, MIGRATION, IMPORT_RECONCILE)

# Visibility timeout is six times the consumer's timeout, as AWS recommends for event source mappings.
INGEST_QUEUE = QueueSettings(
    queue=Resource.INGEST_QUEUE,
    dlq=Resource.INGEST_DLQ,
    visibility_timeout_s=6 * IMPORT_ROUTE.timeout_s,
    max_receive_count=5,
)
"""S3's upload notifications. They carry no message group, so the router re-queues them by tenant."""
VALIDATION_QUEUE = QueueSettings(
    queue=Resource.VALIDATION_QUEUE,
    dlq=Resource.VALIDATION_DLQ,
    visibility_timeout_s=6 * IMPORT_VALIDATE.timeout_s,
    max_receive_count=5,
    fair_by_tenant=True,
)
"""One upload per message, in its tenant's message group: SQS serves a tenant with one upload before the
rest of another tenant's thousand."""
BATCHES_QUEUE = QueueSettings(
    queue=Resource.BATCHES_QUEUE,
    dlq=Resource.BATCHES_DLQ,
    visibility_timeout_s=6 * IMPORT_LOAD.timeout_s,
    max_receive_count=5,
    fair_by_tenant=True,
)
QUEUES = (INGEST_QUEUE, VALIDATION_QUEUE, BATCHES_QUEUE)
"""The import pipeline's queues."""
EXPORT_FAILURES_QUEUE = QueueSettings(
    queue=Resource.EXPORT_FAILURES_QUEUE,
    dlq=Resource.EXPORT_FAILURES_DLQ,
    visibility_timeout_s=6 * EXPORT.timeout_s,
    max_receive_count=3,
)
"""On-failure destination of the export's asynchronous continuations; the export function consumes it
and ends the abandoned job FAILED."""
ALL_QUEUES = (*QUEUES, EXPORT_FAILURES_QUEUE)
"""Every queue of a region's stack, each with its DLQ."""


@dataclass(frozen=True)
class AsyncInvokeSettings:
    """How Lambda treats a function's asynchronous invocations: retries, then an on-failure queue."""

    function: FunctionSettings
    retries: int
    on_failure: QueueSettings


EXPORT_ASYNC = AsyncInvokeSettings(function=EXPORT, retries=2, on_failure=EXPORT_FAILURES_QUEUE)
"""A failed continuation is retried twice, then its invocation record goes to `EXPORT_FAILURES_QUEUE`."""
ASYNC_INVOKES = (EXPORT_ASYNC,)

# AWS advises a maxReceiveCount of at least 5 for queues behind an event source mapping, so that
# throttled or briefly failing invocations do not dead-letter messages; both queues use 5.

LOADER_MAXIMUM_CONCURRENCY = 35
"""Loader invocations at most: enough to write at the table's 40,000 WCU/s quota at the loader's
modelled rate per invocation (`capacity.CapacityModel.loader_concurrency_to_fill_table`: 32), so more
would only be throttled, and far below the account's 1,000 so exports and migrations keep theirs."""

ROUTER_EVENT_SOURCE = EventSourceSettings(
    queue=INGEST_QUEUE, function=IMPORT_ROUTE, batch_size=10, max_batching_window_s=0
)
VALIDATOR_EVENT_SOURCE = EventSourceSettings(
    queue=VALIDATION_QUEUE, function=IMPORT_VALIDATE, batch_size=1, max_batching_window_s=0
)
LOADER_EVENT_SOURCE = EventSourceSettings(
    queue=BATCHES_QUEUE,
    function=IMPORT_LOAD,
    batch_size=10,
    max_batching_window_s=1,
    maximum_concurrency=LOADER_MAXIMUM_CONCURRENCY,
)
EVENT_SOURCES = (ROUTER_EVENT_SOURCE, VALIDATOR_EVENT_SOURCE, LOADER_EVENT_SOURCE)


@dataclass(frozen=True)
class ScheduleSettings:
    """A function invoked on a fixed rate (an EventBridge schedule; the local AWS plays it)."""

    function: FunctionSettings
    every_minutes: int


DEAD_LETTER_SCHEDULE = ScheduleSettings(function=IMPORT_RECONCILE, every_minutes=1)
"""A dead-lettered batch ends its job FAILED within about a minute (EventBridge's shortest rate)."""
SCHEDULES = (DEAD_LETTER_SCHEDULE,)

EXPORT_FAILURES_SOURCE = EventSourceSettings(
    queue=EXPORT_FAILURES_QUEUE, function=EXPORT, batch_size=1, max_batching_window_s=0
)
"""The export function ends the jobs of the continuations Lambda gave up on."""


@dataclass(frozen=True)
class IndexSettings:
    """A global secondary index with string keys, projecting all attributes."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableSettings:
    """A DynamoDB table: string partition key `pk`, string sort key `sk`, on-demand billing."""

    table: Resource
    partition_key: str = "pk"
    sort_key: str = "sk"
    indexes: tuple[IndexSettings, ...] = ()


JOBS_BY_TENANT_INDEX = IndexSettings(name="jobs-by-tenant", partition_key="tenant_id", sort_key="started_key")

TABLES = (
    TableSettings(Resource.TENANT_DATA_TABLE),
    TableSettings(Resource.JOBS_TABLE, indexes=(JOBS_BY_TENANT_INDEX,)),
    TableSettings(Resource.TENANTS_TABLE),
)
BUCKETS = (Resource.INGEST_BUCKET, Resource.EXPORT_BUCKET, Resource.SNAPSHOT_BUCKET)

LEGACY_SHARD_COUNT = 8
"""Shards of a tenant whose directory entry records no count: every tenant created before counts were
recorded. The shard of an id depends on its tenant's count, so an existing tenant keeps 8 for good (a
re-imported id must land on the item it overwrites); 8 x 1,000 WCU/s caps its writes at 8,000 items/s."""
NEW_TENANT_SHARD_COUNT = 32
"""Shards a new tenant's entities spread over, recorded in its directory entry when it is created.
The goal of 25,000 rows/s needs 25 partitions of 1,000 WCU/s (`capacity.CapacityModel.shards_for_rate`);
32, the next power of two, leaves room for uneven shards: 32,000 items/s of up to 964 bytes, which the
loader's `MaximumConcurrency` writes with 26 of its 35 invocations (tests/unit/pipeline/test_capacity.py)."""
MAX_SHARD_COUNT = 256
"""Most shards a tenant may have: every reader queries each of them, so a count is not free."""
DEFAULT_BATCH_ROWS = 500
DEFAULT_MAX_INVALID_RATIO = 0.5


class Tunable(StrEnum):
    """Optional environment overrides of the pipeline's settings; unset means the default above."""

    BATCH_ROWS = "IMPORT_BATCH_ROWS"
    MAX_OBJECT_BYTES = "IMPORT_MAX_OBJECT_BYTES"
    MAX_LEGGED_OBJECT_BYTES = "IMPORT_MAX_LEGGED_OBJECT_BYTES"
    MAX_DECOMPRESSED_BYTES = "IMPORT_MAX_DECOMPRESSED_BYTES"
    MIGRATION_LEG_STEPS = "MIGRATION_LEG_STEPS"
    """Most steps (chunks written, objects copied, pages read) one migration leg takes; unset: time alone."""
    MIGRATION_LEG_RESERVE_S = "MIGRATION_LEG_RESERVE_S"
    VALIDATION_LEG_SECONDS = "IMPORT_VALIDATION_LEG_SECONDS"
    """Longest a validation leg works before it hands over to the next (0: one batch read, or one unit
    of a finishing stage, per leg)."""
    VALIDATION_HANDOVER_DELAY_S = "IMPORT_VALIDATION_HANDOVER_DELAY_S"


VALIDATION_HANDOVER_DELAY_S = 2
"""Seconds a validation leg's request for the next leg waits on the queue before delivery (SQS
`DelaySeconds`). The sending leg records its checkpoint just after the send, in milliseconds; a
standard queue keeps no order within a message group, so an undelayed request could reach a validator
first, find the job a leg behind and wait out the queue's visibility timeout (90 minutes) before it is
tried again."""
VALIDATION_LEG_READ_S = 120.0
"""Longest a validation leg reads (`IMPORT_VALIDATION_LEG_SECONDS` overrides it). A leg's spool segment and
spill pieces grow with what it reads, stay in `/tmp` until the leg's end and are then uploaded within the
invocation: a leg reading its whole budget (870 s) would hold about twice the 10,240 MB `/tmp`, and have
only the 30 s kept to record the job to upload it. In 120 s the fastest format (JSON Lines) fills about
half of `/tmp` at the recorded unit costs (`capacity.CapacityModel.validate_phase`), leaving the rest of
the invocation for the upload. The bytes are bounded apart, on any CPU: a leg also stops once it has
filled half of the `/tmp` it found free (`imports.legs.ScratchSpace`)."""

SQS_MAX_DELAY_S = 900
"""`DelaySeconds` accepts 0 to 900 ("Amazon SQS delay queues")."""

DEFAULT_MAX_OBJECT_BYTES = 5 * 1024**3
"""Largest gzip or JSON array import: one invocation reads it whole (`tenantctl plan`); larger ones fail
with a clear reason."""

DEFAULT_MAX_LEGGED_OBJECT_BYTES = 100 * 1024**3
"""Largest plain CSV or JSON Lines import: read and finished in legs, so no single invocation's limit
binds it (`tenantctl plan`; `capacity.CapacityModel.largest_admitted_import_bytes`): the model finds the
first one, a spill partition's `/tmp`, past 2 TB of 200-byte rows."""

DEFAULT_MAX_DECOMPRESSED_BYTES = 4 * 1024**3
"""Largest decompressed size of a `.gz` import: past it the file is refused as a gzip bomb."""
