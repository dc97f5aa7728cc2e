"""The dead-letter reconciler: a scheduled function that records the batches DLQ's messages on their jobs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.constructs.functions import FunctionFactory
from infra.constructs.nag import TABLE_INDEX_REASON, accept, arn_wildcard
from infra.constructs.queues import QueueWithDeadLetter
from tenant_pipeline import topology

Resource = topology.Resource
PEEK_ACTIONS = ("sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility")
"""It reads the DLQ's depth and its dead letters and makes them visible again; it never deletes one
(`tenantctl redrive` does)."""
RECORD_ACTIONS = ("dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem")
"""Read a job; record a failed batch (a transaction: check the batch's marker, update its counter shard
and its failure item); finish the job."""


class DeadLetterReconciler(Construct):
    """The reconciler function and the schedule that runs it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: FunctionFactory,
        jobs: dynamodb.ITable,
        batches: QueueWithDeadLetter,
    ) -> None:
        super().__init__(scope, construct_id)
        schedule = topology.DEAD_LETTER_SCHEDULE
        self.function = functions.create(
            self,
            schedule.function,
            description="Ends the job of each dead-lettered batch FAILED; the message stays for redrive",
            environment={
                Resource.JOBS_TABLE.env_var: jobs.table_name,
                Resource.BATCHES_DLQ.env_var: batches.dlq.queue_url,
            },
        )
        batches.dlq.grant(self.function, *PEEK_ACTIONS)
        jobs.grant(self.function, *RECORD_ACTIONS)
        accept(self.function, TABLE_INDEX_REASON, arn_wildcard(jobs, "/index/*"))
        self.rule = events.Rule(
            self,
            "Schedule",
            description="Runs the dead-letter reconciler",
            schedule=events.Schedule.rate(Duration.minutes(schedule.every_minutes)),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],
        )
