"""Export λ: invoked directly with `{"tenant_id", "entities", "format", "gzip"?, "job_id"?, "trace"?}`.

Returns the export's outcome (job id, status, files with counts and SHA-256, presigned URLs once
finished). A job that needs more time continues in an asynchronous invocation of this same function
(`{"tenant_id", "job_id", "continue": true}`). An unknown tenant or entity type, or a malformed request,
raises with a message that says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenant_pipeline.aws import AwsClients
from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.export import Continuation, ExportJobs, ExportRunner, LambdaContinuation
from tenant_pipeline.settings import PipelineSettings
from tenant_pipeline.store.tenant_data import TenantDataStore
from tenant_pipeline.store.tenants import TenantDirectory
from tenant_pipeline.topology import Resource
from tenant_telemetry import instrument_handler


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
            store=TenantDataStore(
                settings.name(Resource.TENANT_DATA_TABLE), clients.dynamodb, settings.shard_count
            ),
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


@instrument_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcome = dependencies.get().runner(context).handle(event, context.get_remaining_time_in_millis)
    return outcome.to_dict()
