"""Alarms and the dashboard: what an operator watches to know imports, exports and migrations are healthy.

Every alarm notifies the stack's `AlertTopic`. The counts that AWS does not publish come from the
functions' JSON logs through metric filters, whose patterns match what the code logs:
`tenant_pipeline.imports.completion` logs "import job finished" with the job's `status`, and the
batch processors log every failed record of a partial batch to `function_logs.RECORDS_LOGGER`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.alerts import AlertTopic
from infra.constructs.naming import pascal_id
from infra.constructs.queues import QueueWithDeadLetter
from tenant_pipeline import topology
from tenant_pipeline.function_logs import RECORDS_LOGGER
from tenant_pipeline.store.jobs import JobStatus

METRICS_NAMESPACE = "TenantPipelines"
FAILED_JOBS_METRIC = "FailedJobs"
JOB_FINISHED_MESSAGE = "import job finished"
"""The message `JobCompleter.report` logs once per finished import job."""
JOB_STATUS_FIELD = "status"
"""JSON log field carrying the finished job's status."""
FAILED_STATUSES = (JobStatus.FAILED.value, JobStatus.FAILED_VALIDATION.value)
FAILED_JOBS_PATTERN = logs.FilterPattern.all(
    logs.FilterPattern.string_value("$.message", "=", JOB_FINISHED_MESSAGE),
    logs.FilterPattern.any(
        *(logs.FilterPattern.string_value(f"$.{JOB_STATUS_FIELD}", "=", status) for status in FAILED_STATUSES)
    ),
)
FAILED_RECORDS_PATTERN = logs.FilterPattern.all(
    logs.FilterPattern.string_value("$.name", "=", RECORDS_LOGGER),
    logs.FilterPattern.string_value("$.level", "=", "WARNING"),
)
"""One log line per record a batch processor reported as failed (the rest of its batch succeeded)."""
PERIOD = Duration.minutes(5)
DLQ_AGE_SHARE = 0.5
"""A message left in a DLQ for half its retention alarms before it would be lost."""
THROTTLED_OPERATIONS = (
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.QUERY,
    dynamodb.Operation.BATCH_WRITE_ITEM,
    dynamodb.Operation.TRANSACT_WRITE_ITEMS,
)
"""The table operations the functions call."""


def failed_records_metric(function_name: str) -> str:
    return f"{pascal_id(function_name)}FailedRecords"


class PipelineOperations(Construct):
    """Queue, function, workflow, table and failed-job alarms, all notifying `alerts`; one dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alerts: AlertTopic,
        queues: Sequence[QueueWithDeadLetter],
        functions: Mapping[str, lambda_.Function],
        tables: Mapping[topology.Resource, dynamodb.Table],
        state_machine: sfn.StateMachine | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alerts = alerts
        self.alarms: list[cloudwatch.Alarm] = []
        for queue in queues:
            self._queue_alarms(queue)
        for name, function in functions.items():
            self._function_alarm(name, function)
        if state_machine is not None:
            self._workflow_alarms(state_machine)
        for resource, table in tables.items():
            self._alarm(
                f"{pascal_id(resource)}Throttles",
                table.metric_throttled_requests_for_operations(
                    operations=list(THROTTLED_OPERATIONS), period=PERIOD
                ),
                f"{resource} throttled requests: the functions retry, but a job slows or its batches "
                "reach the DLQ; check the table's consumed capacity.",
            )

        failed_jobs = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=FAILED_JOBS_METRIC, period=PERIOD, statistic="Sum"
        )
        for name, function in functions.items():
            logs.MetricFilter(
                self,
                f"{pascal_id(name)}FailedJobs",
                log_group=function.log_group,
                filter_pattern=FAILED_JOBS_PATTERN,
                metric_namespace=METRICS_NAMESPACE,
                metric_name=FAILED_JOBS_METRIC,
                metric_value="1",
            )
        self._alarm(
            "FailedJobs",
            failed_jobs,
            "An import job finished FAILED or FAILED_VALIDATION; see `tenantctl job`.",
        )
        self._dashboard(queues, functions, tables, failed_jobs)

    def _queue_alarms(self, queue: QueueWithDeadLetter) -> None:
        settings = queue.settings
        self._alarm(
            f"{pascal_id(settings.dlq)}Depth",
            queue.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            f"Messages in {settings.dlq}: they failed {settings.max_receive_count} times; "
            "inspect them and `tenantctl redrive`.",
        )
        # No message stays on the queue longer than its receives can keep it there, unless nothing
        # consumes it (a disabled mapping, a function that cannot start).
        stuck_s = settings.visibility_timeout_s * settings.max_receive_count
        self._alarm(
            f"{pascal_id(settings.queue)}OldestMessage",
            queue.queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            f"A message has waited on {settings.queue} longer than its {settings.max_receive_count} "
            "receives allow: its consumer is not running.",
            threshold=stuck_s,
        )
        self._alarm(
            f"{pascal_id(settings.dlq)}OldestMessage",
            queue.dlq.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            f"A message has been in {settings.dlq} for half its retention: redrive or inspect it "
            "before it expires.",
            threshold=int(settings.dlq_retention_s * DLQ_AGE_SHARE),
        )

    def _function_alarm(self, name: str, function: lambda_.Function) -> None:
        """Invocations that failed as a whole plus single records failing inside partial batches."""
        failed_records = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=failed_records_metric(name),
            period=PERIOD,
            statistic="Sum",
        )
        logs.MetricFilter(
            self,
            f"{pascal_id(name)}FailedRecordsFilter",
            log_group=function.log_group,
            filter_pattern=FAILED_RECORDS_PATTERN,
            metric_namespace=METRICS_NAMESPACE,
            metric_name=failed_records_metric(name),
            metric_value="1",
        )
        self._alarm(
            f"{pascal_id(name)}Errors",
            cloudwatch.MathExpression(
                expression="FILL(errors, 0) + FILL(failedRecords, 0)",
                using_metrics={
                    "errors": function.metric_errors(period=PERIOD, statistic="Sum"),
                    "failedRecords": failed_records,
                },
                label=f"{name} errors and failed records",
                period=PERIOD,
            ),
            f"{name} failed: whole invocations (Errors) or single records of a partial batch "
            "(their messages are retried, then go to the DLQ).",
        )

    def _workflow_alarms(self, state_machine: sfn.StateMachine) -> None:
        for outcome, metric in (
            ("Failed", state_machine.metric_failed(period=PERIOD, statistic="Sum")),
            ("TimedOut", state_machine.metric_timed_out(period=PERIOD, statistic="Sum")),
            ("Aborted", state_machine.metric_aborted(period=PERIOD, statistic="Sum")),
        ):
            self._alarm(
                f"MigrationExecutions{outcome}",
                metric,
                f"A tenant migration execution {outcome.lower()}: see `tenantctl migrations` and the "
                "execution's history.",
            )

    def _alarm(
        self, alarm_id: str, metric: cloudwatch.IMetric, description: str, *, threshold: float = 1
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        self.alerts.notify_on(alarm)
        self.alarms.append(alarm)

    def _dashboard(
        self,
        queues: Sequence[QueueWithDeadLetter],
        functions: Mapping[str, lambda_.Function],
        tables: Mapping[topology.Resource, dynamodb.Table],
        failed_jobs: cloudwatch.Metric,
    ) -> None:
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            *(self._queue_widget(queue) for queue in queues),
            cloudwatch.GraphWidget(title="Failed jobs", left=[failed_jobs], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations",
                left=[f.metric_invocations(period=PERIOD) for f in functions.values()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Errors and throttles",
                left=[f.metric_errors(period=PERIOD) for f in functions.values()],
                right=[f.metric_throttles(period=PERIOD) for f in functions.values()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Duration p95",
                left=[f.metric_duration(period=PERIOD, statistic="p95") for f in functions.values()],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"{resource} capacity and throttles",
                    left=[
                        table.metric_consumed_write_capacity_units(period=PERIOD),
                        table.metric_consumed_read_capacity_units(period=PERIOD),
                    ],
                    right=[
                        table.metric_throttled_requests_for_operations(
                            operations=[
                                dynamodb.Operation.PUT_ITEM,
                                dynamodb.Operation.BATCH_WRITE_ITEM,
                                dynamodb.Operation.QUERY,
                            ],
                            period=PERIOD,
                        )
                    ],
                    width=8,
                )
                for resource, table in tables.items()
            ),
        )

    @staticmethod
    def _queue_widget(queue: QueueWithDeadLetter) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=str(queue.settings.queue),
            left=[
                queue.queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
                queue.dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
            ],
            right=[queue.queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(1))],
            width=8,
        )
