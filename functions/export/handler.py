"""Export λ: invoked directly with `{"tenant_id", "entities", "format", "gzip"?, "job_id"?, "trace"?}`.

Returns the export's outcome (job id, status, files with counts and SHA-256, presigned URLs once
finished). A job that needs more time continues in an asynchronous invocation of this same function
(`{"tenant_id", "job_id", "continue": true}`). An unknown tenant or entity type, or a malformed request,
raises with a message that says which.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.export import Continuation, ExportJobs, ExportRunner, LambdaContinuation
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import Resource
from tenant_telemetry import instrument_handler


@cache
def _clients(region: str | None, endpoint_url: str | None) -> AwsClients:
    """Clients built once per cold start (and per endpoint, when several local AWSes share a process)."""
    return AwsClients(region=region, endpoint_url=endpoint_url)


def continuation_for(context: Any, clients: AwsClients) -> Continuation:
    """The next invocation of a long export is an asynchronous invoke of this very function."""
    return LambdaContinuation(lambda: clients.lambda_, str(context.invoked_function_arn))


def build_runner(context: Any) -> ExportRunner:
    settings = PipelineSettings.from_env()
    clients = _clients(settings.region, os.environ.get("AWS_ENDPOINT_URL") or None)
    data_table = settings.name(Resource.TENANT_DATA_TABLE)
    return ExportRunner(
        tenants=TenantDirectory(settings.name(Resource.TENANTS_TABLE), clients.dynamodb),
        store=TenantDataStore(data_table, clients.dynamodb, settings.shard_count),
        jobs=ExportJobs(settings.name(Resource.JOBS_TABLE), clients.dynamodb),
        s3=clients.s3,
        bucket=settings.name(Resource.EXPORT_BUCKET),
        continuation=continuation_for(context, clients),
    )


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = build_runner(context).handle(event, context.get_remaining_time_in_millis)
    return outcome.to_dict()
