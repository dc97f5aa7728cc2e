"""Export λ: invoked directly with `{"tenant_id", "entities", "format", "gzip"?, "job_id"?, "trace"?}`.

Returns the export's outcome (job id, status, files with counts and SHA-256, presigned URLs once
finished). A job that needs more time continues in an asynchronous invocation of this same function
(`{"tenant_id", "job_id", "continue": true}`). An unknown tenant or entity type, or a malformed request,
raises with a message that says which.

A continuation that Lambda gives up on goes to the export-failures queue as Lambda's invocation record;
that queue feeds this function too (an SQS event), which ends each such job FAILED with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.export import (
    AbandonedContinuation,
    Continuation,
    ExportJobs,
    ExportRunner,
    LambdaContinuation,
)
from tenant_pipeline.function_logs import function_logger, record_failures_logger
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import Resource
from tenant_telemetry import instrument_handler

logger = function_logger("export")
processor = BatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=record_failures_logger()
)


def continuation_for(context: Any, clients: AwsClients) -> Continuation:
    """The next invocation of a long export is an asynchronous invoke of this very function."""
    return LambdaContinuation(lambda: clients.lambda_, str(context.invoked_function_arn))


@dataclass(frozen=True)
class Dependencies:
    settings: PipelineSettings
    clients: AwsClients
    tenants: TenantDirectory
    store: TenantDataStore
    jobs: ExportJobs

    @classmethod
    def from_env(cls) -> Dependencies:
        settings = PipelineSettings.from_env()
        clients = AwsClients(region=settings.region)
        return cls(
            settings=settings,
            clients=clients,
            tenants=TenantDirectory(settings.name(Resource.TENANTS_TABLE), clients.dynamodb),
            store=TenantDataStore(settings.name(Resource.TENANT_DATA_TABLE), clients.dynamodb),
            jobs=ExportJobs(settings.name(Resource.JOBS_TABLE), clients.dynamodb),
        )

    def runner(self, context: Any) -> ExportRunner:
        """The runner of one invocation: it continues through the function the context names."""
        return ExportRunner(
            tenants=self.tenants,
            store=self.store,
            jobs=self.jobs,
            s3=self.clients.s3,
            bucket=self.settings.name(Resource.EXPORT_BUCKET),
            continuation=continuation_for(context, self.clients),
        )


dependencies = ColdStart(Dependencies.from_env)


def _is_sqs_event(event: Any) -> bool:
    """The export-failures queue's messages; anything else is a request for the runner to judge."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], dict)
        and records[0].get("eventSource") == "aws:sqs"
    )


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    runner = dependencies.get().runner(context)
    if _is_sqs_event(event):

        def record_handler(record: SQSRecord) -> None:
            abandoned = AbandonedContinuation.from_record(record.json_body)
            outcome = runner.fail_abandoned(abandoned)
            logger.warning(
                "export continuation abandoned",
                extra={"job_id": outcome.job_id, "status": outcome.status.value, "error": outcome.error},
            )

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    outcome = runner.handle(event, context.get_remaining_time_in_millis)
    return outcome.to_dict()
