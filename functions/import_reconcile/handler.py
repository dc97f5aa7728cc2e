"""Dead-letter reconciler λ, on a schedule: records the batches in the batches DLQ on their jobs, so a
job whose batch was dead-lettered ends FAILED with its batch numbers. The messages stay in the DLQ
for `tenantctl redrive`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.function_logs import function_logger
from tenant_pipeline.imports.completion import JobCompleter
from tenant_pipeline.imports.dead_letters import DeadLetterReconciler
from tenant_pipeline.imports.load import monotonic_deadline
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.jobs import JobsLedger
from tenant_pipeline.topology import Resource
from tenant_telemetry import instrument_handler

logger = function_logger("import_reconcile")
RESERVE_S = 10.0
"""Time kept back for finishing jobs, releasing the peeked messages and flushing telemetry."""


@dataclass(frozen=True)
class Dependencies:
    reconciler: DeadLetterReconciler

    @classmethod
    def from_env(cls) -> Dependencies:
        settings = PipelineSettings.from_env()
        clients = AwsClients(region=settings.region)
        jobs = JobsLedger(settings.name(Resource.JOBS_TABLE), clients.dynamodb)
        return cls(
            reconciler=DeadLetterReconciler(
                sqs=clients.sqs,
                dlq_url=settings.name(Resource.BATCHES_DLQ),
                jobs=jobs,
                completer=JobCompleter(jobs, max_receives=settings.batches_max_receive_count),
                # Held for no longer than one invocation: a reconciler that dies mid-pass delays redrive
                # by at most this; a pass that ends releases the messages at once.
                peek_visibility_s=topology.IMPORT_RECONCILE.timeout_s,
            )
        )


dependencies = ColdStart(Dependencies.from_env)


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = monotonic_deadline(remaining(), RESERVE_S) if callable(remaining) else None
    result = dependencies.get().reconciler.run(deadline)
    if result.messages:
        logger.info("dead letters reconciled", extra=result.to_dict())
    return result.to_dict()
