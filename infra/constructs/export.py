"""Tenant exports: the export bucket and the function that streams a tenant's data into it."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
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
from infra.constructs.storage import TenantStore
from tenant_pipeline import topology

Resource = topology.Resource
EXPORT_RETENTION = Duration.days(30)
"""Exports are handed over for download, not archived: they expire a month after they are written."""


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
        tenant_data.grant_read_data(self.function)
        tenants.grant_read_data(self.function)
        jobs.grant_read_write_data(self.function)
        self.bucket.grant_put(self.function)
        # Presigned download URLs are signed by the function's role, so it must be able to read them.
        self.bucket.grant_read(self.function)
        accept(self.function, GRANT_ACTIONS_REASON, *S3_READ_ACTIONS, *S3_PUT_ACTIONS)
        accept(
            self.function,
            "Export keys carry the tenant and job ids, known only at run time; the bucket "
            "holds nothing but exports.",
            arn_wildcard(self.bucket, "/*"),
        )
        accept(self.function, TABLE_INDEX_REASON, arn_wildcard(jobs, "/index/*"))

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
