"""The import pipeline: ingest queue -> route -> validation queue -> validate -> batches queue -> load,
each hop with a DLQ. The validation and batches queues are fair queues: each message in its tenant's group."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.dead_letters import DeadLetterReconciler
from infra.constructs.functions import FunctionFactory
from infra.constructs.nag import (
    GRANT_ACTIONS_REASON,
    S3_PUT_ACTIONS,
    S3_READ_ACTIONS,
    TABLE_INDEX_REASON,
    accept,
    arn_wildcard,
)
from infra.constructs.naming import pascal_id
from infra.constructs.queues import QueueWithDeadLetter
from infra.constructs.storage import TenantStore
from tenant_pipeline import topology

Resource = topology.Resource
UPLOADS = f"{topology.IMPORT_KEY_PREFIX}*/imports/*"
"""Uploads, `tenants/{tenant}/imports/{entity}/{file}`: the validator reads them, nobody writes them."""
REPORTS = f"{topology.REPORTS_KEY_PREFIX}*"
BATCHES = f"{topology.BATCHES_KEY_PREFIX}*"
OBJECT_KEYS_REASON = (
    "Object keys carry the tenant and job ids, known only at run time; each pattern is one folder of "
    "the ingest bucket: uploads (read), error reports (written), claim-check batches and the parts a "
    "validation leg keeps for the next (written and read)."
)
JOB_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
"""The jobs ledger as both functions use it: read a job (one Query over its item and counter shards),
create it or a batch marker, update it or a counter shard."""


class ImportPipeline(Construct):
    """Queues, the route, validate and load functions, and the event source mappings between them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: FunctionFactory,
        store: TenantStore,
        ingest_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.queues = {
            settings.queue: QueueWithDeadLetter(self, pascal_id(settings.queue), settings=settings)
            for settings in topology.QUEUES
        }
        batches = self.queues[Resource.BATCHES_QUEUE]
        validation = self.queues[Resource.VALIDATION_QUEUE]
        tenants = store.table(Resource.TENANTS_TABLE)
        jobs = store.table(Resource.JOBS_TABLE)
        tenant_data = store.table(Resource.TENANT_DATA_TABLE)

        self.route = functions.create(
            self,
            topology.IMPORT_ROUTE,
            description="Re-queues each upload notification for validation in its tenant's message group",
            environment={Resource.VALIDATION_QUEUE.env_var: validation.queue.queue_url},
        )
        # Only a send: its event source mapping grants it the ingest queue, and it reads no object.
        validation.queue.grant_send_messages(self.route)

        self.validate = functions.create(
            self,
            topology.IMPORT_VALIDATE,
            description="Validates an uploaded tenant file, writes its error report and fans out batches",
            environment={
                Resource.INGEST_BUCKET.env_var: ingest_bucket.bucket_name,
                Resource.TENANTS_TABLE.env_var: tenants.table_name,
                Resource.JOBS_TABLE.env_var: jobs.table_name,
                Resource.BATCHES_QUEUE.env_var: batches.queue.queue_url,
                Resource.VALIDATION_QUEUE.env_var: validation.queue.queue_url,
            },
        )
        ingest_bucket.grant_read(self.validate, UPLOADS)
        # A file read in legs: each leg keeps its parts under the job's batches folder and queues the next.
        ingest_bucket.grant_read(self.validate, BATCHES)
        validation.queue.grant_send_messages(self.validate)
        ingest_bucket.grant_put(self.validate, REPORTS)
        # The report of a file read in legs is joined part by part: its multipart upload is completed from
        # the parts S3 lists, and a leg retried after completing it finds the report there.
        ingest_bucket.grant_read(self.validate, REPORTS)
        ingest_bucket.grant_put(self.validate, BATCHES)
        tenants.grant(self.validate, "dynamodb:GetItem")
        # Read too: a re-delivered S3 event finds the job it already created and its validation lease.
        jobs.grant(self.validate, *JOB_ACTIONS)
        batches.queue.grant_send_messages(self.validate)
        accept(self.validate, GRANT_ACTIONS_REASON, *S3_READ_ACTIONS, *S3_PUT_ACTIONS)
        accept(
            self.validate,
            OBJECT_KEYS_REASON,
            *(arn_wildcard(ingest_bucket, f"/{pattern}") for pattern in (UPLOADS, REPORTS, BATCHES)),
        )

        self.load = functions.create(
            self,
            topology.IMPORT_LOAD,
            description="Loads a batch of validated rows into the tenant store and completes the job",
            environment={
                Resource.INGEST_BUCKET.env_var: ingest_bucket.bucket_name,
                Resource.TENANT_DATA_TABLE.env_var: tenant_data.table_name,
                Resource.JOBS_TABLE.env_var: jobs.table_name,
            },
        )
        ingest_bucket.grant_read(self.load, BATCHES)
        # Idempotent puts only, in BatchWriteItem calls: a loader never updates or deletes tenant data.
        tenant_data.grant(self.load, "dynamodb:BatchWriteItem")
        # ConditionCheck: recording a failed batch checks, in its transaction, that the batch is not done.
        jobs.grant(self.load, *JOB_ACTIONS, "dynamodb:ConditionCheckItem")
        accept(self.load, GRANT_ACTIONS_REASON, *S3_READ_ACTIONS)
        accept(self.load, OBJECT_KEYS_REASON, arn_wildcard(ingest_bucket, f"/{BATCHES}"))

        for function in (self.validate, self.load):
            accept(function, TABLE_INDEX_REASON, arn_wildcard(jobs, "/index/*"))

        self.reconciler = DeadLetterReconciler(
            self, "DeadLetters", functions=functions, jobs=jobs, batches=batches
        )

        for source in topology.EVENT_SOURCES:
            self.functions[source.function.name].add_event_source(
                event_sources.SqsEventSource(
                    self.queues[source.queue.queue].queue,
                    batch_size=source.batch_size,
                    max_batching_window=Duration.seconds(source.max_batching_window_s),
                    report_batch_item_failures=source.report_batch_item_failures,
                    max_concurrency=source.maximum_concurrency,
                )
            )

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        """The pipeline's functions by their topology name."""
        return {
            topology.IMPORT_ROUTE.name: self.route,
            topology.IMPORT_VALIDATE.name: self.validate,
            topology.IMPORT_LOAD.name: self.load,
            topology.IMPORT_RECONCILE.name: self.reconciler.function,
        }
