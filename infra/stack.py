"""One region's whole bundle: storage, ingest, import, export, migration, telemetry, operations."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, CfnOutput, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import DeploymentConfig
from infra.constructs.alerts import AlertTopic
from infra.constructs.buckets import AccessLogsBucket
from infra.constructs.discovery import ResourceDirectory
from infra.constructs.export import TenantExport
from infra.constructs.functions import FunctionFactory
from infra.constructs.import_pipeline import ImportPipeline
from infra.constructs.ingest import IngestBucket
from infra.constructs.layers import PipelineLayer, TelemetryLayer
from infra.constructs.migration import MigrationWorkflow
from infra.constructs.operations import PipelineOperations
from infra.constructs.storage import TenantStore
from tenant_pipeline import topology

Resource = topology.Resource
NO_TRACES_WARNING = (
    "No OTLP endpoint is configured (context `otlpEndpoint`) and X-Ray is off: the functions' traces "
    "and metrics go nowhere. Deploy with -c otlpEndpoint=https://<collector> to see them."
)


class TenantPipelineStack(Stack):
    """The bundle in one region; the same stack in every region makes migrations possible."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        region: str,
        config: DeploymentConfig,
        peer_regions: Sequence[str] = (),
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(region=region),
            description=f"{topology.PROJECT}: tenant imports, exports and migrations ({region})",
        )
        self.access_logs = AccessLogsBucket(self, "AccessLogs").bucket
        access_logs = self.access_logs
        self.store = TenantStore(self, "TenantStore")
        self.telemetry_layer = TelemetryLayer(self, "TelemetryLayer").layer
        self.pipeline_layer = PipelineLayer(self, "PipelineLayer").layer
        self.function_factory = FunctionFactory(
            self, "Functions", config=config, layers=[self.telemetry_layer, self.pipeline_layer]
        )
        self.ingest = IngestBucket(self, "Ingest", access_logs=access_logs)
        self.imports = ImportPipeline(
            self,
            "ImportPipeline",
            functions=self.function_factory,
            store=self.store,
            ingest_bucket=self.ingest.bucket,
        )
        self.ingest.notify(self.imports.queues[Resource.INGEST_QUEUE].queue)
        self.export = TenantExport(
            self, "Export", functions=self.function_factory, store=self.store, access_logs=access_logs
        )
        self.migration = MigrationWorkflow(
            self,
            "Migration",
            functions=self.function_factory,
            store=self.store,
            access_logs=access_logs,
            peer_regions=peer_regions,
        )
        self.alerts = AlertTopic(self, "Alerts", email=config.alarm_email)
        CfnOutput(
            self,
            "AlertTopic",
            value=self.alerts.topic.topic_arn,
            description="Every alarm of the stack notifies this topic; subscribe whoever must hear of them",
        )
        self.operations = PipelineOperations(
            self,
            "Operations",
            alerts=self.alerts,
            queues=[*self.imports.queues.values(), self.export.failures],
            functions=self.functions,
            tables=self.store.tables,
            state_machine=self.migration.state_machine,
        )
        if not config.telemetry.otlp_endpoint:
            Annotations.of(self).add_warning_v2(f"{topology.PROJECT}:no-trace-export", NO_TRACES_WARNING)
        self.directory = ResourceDirectory(self, "Directory", names=self.physical_names())

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        """Every function of the stack by its topology name."""
        functions = {**self.imports.functions, topology.EXPORT.name: self.export.function}
        if self.migration.function is not None:
            functions[topology.MIGRATION.name] = self.migration.function
        return functions

    def physical_names(self) -> dict[Resource, str]:
        """What `tenantctl` needs to find each resource: bucket and table names, queue URLs, ARNs."""
        names = {
            Resource.INGEST_BUCKET: self.ingest.bucket.bucket_name,
            Resource.EXPORT_BUCKET: self.export.bucket.bucket_name,
            Resource.SNAPSHOT_BUCKET: self.migration.bucket.bucket_name,
            Resource.EXPORT_FUNCTION: self.export.function.function_name,
        }
        names |= {resource: table.table_name for resource, table in self.store.tables.items()}
        for pair in (*self.imports.queues.values(), self.export.failures):
            names[pair.settings.queue] = pair.queue.queue_url
            names[pair.settings.dlq] = pair.dlq.queue_url
        if self.migration.function is not None:
            names[Resource.MIGRATION_FUNCTION] = self.migration.function.function_name
        if self.migration.state_machine is not None:
            names[Resource.MIGRATION_STATE_MACHINE] = self.migration.state_machine.state_machine_arn
        return names
