"""Loader Lambda: batch messages from the import-batches queue into the tenant store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.function_logs import function_logger, record_failures_logger
from tenant_pipeline.imports.load import BatchLoader, monotonic_deadline
from tenant_pipeline.settings import PipelineSettings
from tenant_telemetry import instrument_handler
from tenant_telemetry.propagation import record_context

logger = function_logger("import_load")
processor = BatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=record_failures_logger()
)
RESERVE_S = 5.0
"""Time kept back from write retries for marking the batch and flushing telemetry."""


@dataclass(frozen=True)
class Dependencies:
    loader: BatchLoader

    @classmethod
    def from_env(cls) -> Dependencies:
        settings = PipelineSettings.from_env()
        return cls(loader=BatchLoader.from_settings(settings, AwsClients(region=settings.region)))


dependencies = ColdStart(Dependencies.from_env)


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    loader = dependencies.get().loader
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = monotonic_deadline(remaining(), RESERVE_S) if callable(remaining) else None

    def record_handler(record: SQSRecord) -> None:
        loader.load(
            record.body,
            receive_count=int(record.attributes.approximate_receive_count or 1),
            parent=record_context(record),
            deadline=deadline,
            sent_timestamp_ms=record.attributes.sent_timestamp,
        )

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
