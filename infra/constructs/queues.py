"""SQS queues with their dead-letter queues, as `topology.QUEUES` declares them."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.naming import pascal_id
from tenant_pipeline import topology


class QueueWithDeadLetter(Construct):
    """A TLS-only, SSE-SQS queue that moves a message to its DLQ after `max_receive_count` receives."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: topology.QueueSettings) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.dlq = sqs.Queue(
            self,
            pascal_id(settings.dlq),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.seconds(settings.dlq_retention_s),
        )
        self.queue = sqs.Queue(
            self,
            pascal_id(settings.queue),
            # SSE-SQS, not KMS: S3 notifications cannot publish to a queue under the AWS-managed KMS key.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(settings.visibility_timeout_s),
            retention_period=Duration.seconds(settings.retention_s),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=settings.max_receive_count
            ),
        )
