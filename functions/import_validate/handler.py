"""Validator Lambda: S3 `ObjectCreated` notifications (routed to the validation queue, or direct) to jobs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.function_logs import function_logger, record_failures_logger
from tenant_pipeline.imports.legs import requested_leg
from tenant_pipeline.imports.validate import ImportValidator, ObjectCreated, ValidationResult
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.topology import VALIDATION_QUEUE
from tenant_telemetry import instrument_handler

logger = function_logger("import_validate")
processor = BatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=record_failures_logger()
)


@dataclass(frozen=True)
class Dependencies:
    validator: ImportValidator

    @classmethod
    def from_env(cls) -> Dependencies:
        settings = PipelineSettings.from_env()
        return cls(validator=ImportValidator.from_settings(settings, AwsClients(region=settings.region)))


dependencies = ColdStart(Dependencies.from_env)


def object_created_events(notification: S3Event) -> Iterator[ObjectCreated]:
    """The `ObjectCreated` records of an S3 notification (test events and other kinds yield nothing)."""
    if not isinstance(notification.get("Records"), list):
        return  # `s3:TestEvent`, sent when the notification is configured
    for record in notification.records:
        created = _object_created(record)
        if created is not None:
            yield created


def _object_created(record: S3EventRecord) -> ObjectCreated | None:
    if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith(
        "ObjectCreated"
    ):
        return None
    try:
        bucket, obj = record.s3.bucket.name, record.s3.get_object
        key = obj.key
    except (KeyError, TypeError, AttributeError):
        bucket, obj, key = "", None, None
    if obj is None or not bucket or not key or not isinstance(key, str):
        logger.warning("S3 record without bucket or key", extra={"record": str(record.raw_event)[:500]})
        return None
    size = obj.get("size")
    return ObjectCreated(
        bucket=bucket,
        key=unquote_plus(key),
        version_id=obj.version_id or None,
        etag=obj.etag or None,
        size=size if isinstance(size, int) else None,
    )


def _remaining_s(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else None


def _validate_all(
    notification: S3Event, context: Any, *, final_attempt: bool = False, leg: int = 1
) -> list[ValidationResult]:
    validator = dependencies.get().validator
    results = []
    for created in object_created_events(notification):
        result = validator.validate(
            replace(created, leg=leg), remaining_s=_remaining_s(context), final_attempt=final_attempt
        )
        logger.info(
            "object handled",
            extra={
                "key": created.key[:300],
                "outcome": result.outcome.value,
                "leg": leg,
                "job_id": result.job_id,
                "reason": result.reason,
            },
        )
        results.append(result)
    return results


def _nested_notification(record: SQSRecord) -> S3Event | None:
    """The S3 notification an ingest message carries, or None (with a warning) when its body is not one."""
    try:
        notification = record.decoded_nested_s3_event
    except (TypeError, ValueError):
        notification = None
    if notification is None or not isinstance(notification.raw_event, Mapping):
        logger.warning(
            "ingest message is not an S3 notification; dropped", extra={"message_id": record.message_id}
        )
        return None
    return notification


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    records = event.get("Records") or []
    if records and isinstance(records[0], Mapping) and records[0].get("eventSource") == "aws:sqs":

        def record_handler(record: SQSRecord) -> None:
            notification = _nested_notification(record)
            if notification is not None:
                receives = int(record.attributes.approximate_receive_count or 1)
                final_attempt = receives >= VALIDATION_QUEUE.max_receive_count
                leg = requested_leg(notification.raw_event)
                _validate_all(notification, context, final_attempt=final_attempt, leg=leg)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    results = _validate_all(S3Event(event), context)
    return {
        "results": [{"outcome": r.outcome.value, "job_id": r.job_id, "reason": r.reason} for r in results]
    }
