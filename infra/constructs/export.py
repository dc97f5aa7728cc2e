"""Tenant exports: the export bucket and the function that streams a tenant's data into it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.buckets import secure_bucket
from infra.constructs.functions import FunctionFactory
from infra.constructs.nag import (
    GRANT_ACTIONS_REASON,
    S3_PUT_ACTIONS,
    S3_READ_ACTIONS,
    TABLE_INDEX_REASON,
    accept,
    arn_wildcard,
)
from infra.constructs.queues import QueueWithDeadLetter
from infra.constructs.storage import TenantStore
from tenant_pipeline import topology

Resource = topology.Resource
EXPORT_RETENTION = Duration.days(30)
"""Exports are handed over for download, not archived: they expire a month after they are written."""
EXPORT_OBJECTS = "tenants/*/exports/*"
"""`export.keys.export_prefix`: the only keys the function writes and presigns."""


class TenantExport(Construct):
    """Export bucket plus the export function, scoped to read tenant data and write exports."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: FunctionFactory,
        store: TenantStore,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = secure_bucket(
            self,
            "Bucket",
            access_logs=access_logs,
            log_prefix="export/",
            lifecycle_rules=[s3.LifecycleRule(expiration=EXPORT_RETENTION)],
        )
        tenant_data = store.table(Resource.TENANT_DATA_TABLE)
        jobs = store.table(Resource.JOBS_TABLE)
        tenants = store.table(Resource.TENANTS_TABLE)
        self.function = functions.create(
            self,
            topology.EXPORT,
            description="Streams a tenant's entities into the export bucket with a checksummed manifest",
            environment={
                Resource.EXPORT_BUCKET.env_var: self.bucket.bucket_name,
                Resource.TENANT_DATA_TABLE.env_var: tenant_data.table_name,
                Resource.JOBS_TABLE.env_var: jobs.table_name,
                Resource.TENANTS_TABLE.env_var: tenants.table_name,
            },
        )
        # Query every shard of a tenant's entity; never Scan.
        tenant_data.grant(self.function, "dynamodb:Query")
        tenants.grant(self.function, "dynamodb:GetItem")
        jobs.grant(self.function, "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.bucket.grant_put(self.function, EXPORT_OBJECTS)
        # Presigned download URLs are signed by the function's role, so it must be able to read them.
        self.bucket.grant_read(self.function, EXPORT_OBJECTS)
        accept(self.function, GRANT_ACTIONS_REASON, *S3_READ_ACTIONS, *S3_PUT_ACTIONS)
        accept(
            self.function,
            "Export keys carry the tenant and job ids, known only at run time; the pattern is the "
            "bucket's tenants/*/exports/ folders.",
            arn_wildcard(self.bucket, f"/{EXPORT_OBJECTS}"),
        )
        accept(self.function, TABLE_INDEX_REASON, arn_wildcard(jobs, "/index/*"))

        # A continuation Lambda gives up on (retries exhausted, or too old) is recorded in a queue that
        # the function consumes: it ends the job FAILED with the reason instead of leaving it RUNNING.
        asynchronous = topology.EXPORT_ASYNC
        self.failures = QueueWithDeadLetter(self, "Failures", settings=asynchronous.on_failure)
        self.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.failures.queue),
            retry_attempts=asynchronous.retries,
        )
        source = topology.EXPORT_FAILURES_SOURCE
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.failures.queue,
                batch_size=source.batch_size,
                max_batching_window=Duration.seconds(source.max_batching_window_s),
                report_batch_item_failures=source.report_batch_item_failures,
            )
        )

        # A long export continues in an asynchronous invocation of itself. A policy of its own, not the
        # role's default policy, which the function depends on: that would be a circular dependency.
        iam.Policy(
            self,
            "ContinueExport",
            roles=[self.function.role] if self.function.role else [],
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn, f"{self.function.function_arn}:*"],
                )
            ],
        )
        accept(
            self,
            "The export continues in an invocation of itself, by any of its versions (`<arn>:*`).",
            arn_wildcard(self.function, ":*"),
        )
