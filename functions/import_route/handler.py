"""Router Lambda: upload notifications from the ingest queue to the validation queue, by tenant."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.function_logs import function_logger
from tenant_pipeline.imports.routing import ValidationRequest, ValidationRouter, validation_requests
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.batch_queue import BatchQueue
from tenant_pipeline.topology import Resource
from tenant_telemetry import instrument_handler
from tenant_telemetry.propagation import inject_message_attributes

logger = function_logger("import_route")


@dataclass(frozen=True)
class Dependencies:
    router: ValidationRouter

    @classmethod
    def from_env(cls) -> Dependencies:
        settings = PipelineSettings.from_env()
        sqs = AwsClients(region=settings.region).sqs
        return cls(router=ValidationRouter(BatchQueue(sqs, settings.name(Resource.VALIDATION_QUEUE))))


dependencies = ColdStart(Dependencies.from_env)


def _notification(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The S3 notification an ingest message carries, or None (with a warning) when it is not one."""
    try:
        notification = json.loads(record.get("body") or "")
    except ValueError:
        notification = None
    if not isinstance(notification, Mapping):
        logger.warning(
            "ingest message is not an S3 notification; dropped", extra={"message_id": record.get("messageId")}
        )
        return None
    return notification


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    requests: list[tuple[str, ValidationRequest]] = []
    for record in event.get("Records") or []:
        notification = _notification(record)
        if notification is not None:
            requests += [(str(record["messageId"]), request) for request in validation_requests(notification)]
    failed = dependencies.get().router.route(requests, message_attributes=inject_message_attributes())
    logger.info("notifications routed", extra={"requests": len(requests), "failed_messages": len(failed)})
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(failed)]}
