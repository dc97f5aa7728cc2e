"""The ingest bucket: tenants drop files under `tenants/{tenant}/imports/{entity}/`."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.buckets import secure_bucket
from infra.constructs.nag import BASIC_EXECUTION_ROLE, BASIC_EXECUTION_ROLE_REASON, accept
from tenant_pipeline import topology


class IngestBucket(Construct):
    """The bucket that starts imports, and its object-created notifications to the ingest queue."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.bucket = secure_bucket(
            self,
            "Bucket",
            access_logs=access_logs,
            log_prefix="ingest/",
            lifecycle_rules=[
                s3.LifecycleRule(prefix=rule.prefix, expiration=Duration.days(rule.days))
                for rule in topology.INGEST_EXPIRY
            ],
        )

    def notify(self, queue: sqs.IQueue) -> None:
        """Sends uploads (`topology.INGEST_NOTIFICATION`) to `queue`. Error reports and claim-check
        batches live outside that prefix, so the pipeline's own writes notify nobody."""
        key_filter = topology.INGEST_NOTIFICATION
        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(queue),
            s3.NotificationKeyFilter(prefix=key_filter.prefix, suffix=key_filter.suffix or None),
        )
        # The CDK adds one shared handler function per stack to configure bucket notifications.
        for child in Stack.of(self).node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                accept(child, BASIC_EXECUTION_ROLE_REASON, BASIC_EXECUTION_ROLE)
