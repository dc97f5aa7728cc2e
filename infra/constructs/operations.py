"""Alarms and the dashboard: what an operator watches to know imports and exports are healthy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.naming import pascal_id
from infra.constructs.queues import QueueWithDeadLetter
from tenant_pipeline import topology

METRICS_NAMESPACE = "TenantPipelines"
FAILED_JOBS_METRIC = "FailedJobs"
JOB_STATUS_FIELD = "job_status"
"""JSON log field carrying a finished job's status; a log line with a failed status counts one failed job."""
FAILED_STATUSES = ("FAILED", "FAILED_VALIDATION")
PERIOD = Duration.minutes(5)


class PipelineOperations(Construct):
    """DLQ-depth, function-error and failed-job alarms, and one dashboard of the pipeline's metrics."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queues: Sequence[QueueWithDeadLetter],
        functions: Mapping[str, lambda_.Function],
        tables: Mapping[topology.Resource, dynamodb.Table],
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        for queue in queues:
            depth = queue.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            )
            self._alarm(
                f"{pascal_id(queue.settings.dlq)}Depth",
                depth,
                f"Messages in {queue.settings.dlq}: they failed {queue.settings.max_receive_count} times; "
                "inspect them and `tenantctl redrive`.",
            )
        for name, function in functions.items():
            self._alarm(
                f"{pascal_id(name)}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                f"{name} raised errors (invocations that failed as a whole).",
            )

        failed_jobs = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=FAILED_JOBS_METRIC, period=PERIOD, statistic="Sum"
        )
        pattern = logs.FilterPattern.any(
            *(
                logs.FilterPattern.string_value(f"$.{JOB_STATUS_FIELD}", "=", status)
                for status in FAILED_STATUSES
            )
        )
        for name, function in functions.items():
            logs.MetricFilter(
                self,
                f"{pascal_id(name)}FailedJobs",
                log_group=function.log_group,
                filter_pattern=pattern,
                metric_namespace=METRICS_NAMESPACE,
                metric_name=FAILED_JOBS_METRIC,
                metric_value="1",
            )
        self._alarm(
            "FailedJobs", failed_jobs, "A job finished FAILED or FAILED_VALIDATION; see `tenantctl job`."
        )

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

    def _alarm(self, alarm_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                alarm_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
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
