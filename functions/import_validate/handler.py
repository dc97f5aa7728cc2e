"""Validator Lambda: S3 `ObjectCreated` notifications (through the ingest queue, or direct) to import jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.imports.validate import ImportValidator, ObjectCreated, ValidationResult
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.topology import INGEST_QUEUE
from tenant_telemetry import instrument_handler

logger = Logger(service="import_validate")
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def _validator() -> ImportValidator:
    """Built once per cold start, at the first invocation (never at import)."""
    return ImportValidator.from_settings(PipelineSettings.from_env(), AwsClients())


def object_created_events(notification: Mapping[str, Any]) -> Iterator[ObjectCreated]:
    """The `ObjectCreated` records of an S3 notification (test events and other kinds yield nothing)."""
    records = notification.get("Records")
    if not isinstance(records, list):
        return
    for record in records:
        if not isinstance(record, Mapping) or record.get("eventSource") != "aws:s3":
            continue
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        obj = s3.get("object") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = obj.get("key")
        if not bucket or not isinstance(key, str):
            logger.warning("S3 record without bucket or key", extra={"record": str(record)[:500]})
            continue
        yield ObjectCreated(
            bucket=bucket,
            key=unquote_plus(key),
            version_id=obj.get("versionId") or None,
            etag=obj.get("eTag") or None,
            size=obj.get("size"),
        )


def _remaining_s(context: Any) -> float | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else None


def _validate_all(
    notification: Mapping[str, Any], context: Any, *, final_attempt: bool = False
) -> list[ValidationResult]:
    validator = _validator()
    results = []
    for created in object_created_events(notification):
        result = validator.validate(created, remaining_s=_remaining_s(context), final_attempt=final_attempt)
        logger.info(
            "object handled",
            extra={
                "key": created.key[:300],
                "outcome": result.outcome.value,
                "job_id": result.job_id,
                "reason": result.reason,
            },
        )
        results.append(result)
    return results


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    records = event.get("Records") or []
    if records and isinstance(records[0], Mapping) and records[0].get("eventSource") == "aws:sqs":

        def record_handler(record: SQSRecord) -> None:
            try:
                notification = json.loads(record.body)
            except (TypeError, ValueError):
                logger.warning("ingest message is not JSON; dropped", extra={"message_id": record.message_id})
                return
            if isinstance(notification, Mapping):
                receives = int(record.attributes.approximate_receive_count or 1)
                _validate_all(notification, context, final_attempt=receives >= INGEST_QUEUE.max_receive_count)

        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    results = _validate_all(event, context)
    return {
        "results": [{"outcome": r.outcome.value, "job_id": r.job_id, "reason": r.reason} for r in results]
    }
