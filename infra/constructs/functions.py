"""The one place functions are made: runtime, architecture, limits, logging, layers and telemetry env."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import AssetHashType, Duration, Size
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import REPO_ROOT, DeploymentConfig
from infra.constructs.layers import ARCHITECTURE, RUNTIME
from infra.constructs.nag import BASIC_EXECUTION_ROLE, BASIC_EXECUTION_ROLE_REASON, accept
from infra.constructs.naming import pascal_id
from infra.constructs.python_bundling import AssetPlan, bundling_options
from tenant_pipeline import topology
from tenant_telemetry.otlp_headers import PARAMETER_VAR as HEADERS_PARAMETER_ENV
from tenant_telemetry.otlp_headers import SECRET_VAR as HEADERS_SECRET_ENV


def service_name(settings: topology.FunctionSettings) -> str:
    """`import_validate` -> `tenant-pipelines-import-validate`: one OpenTelemetry service per function."""
    return f"{topology.PROJECT}-{settings.name.replace('_', '-')}"


class FunctionFactory(Construct):
    """Makes every function the same way; callers add only names, grants and event sources."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: Sequence[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._layers = list(layers)
        telemetry = config.telemetry
        self._headers_secret: secretsmanager.ISecret | None = None
        self._headers_parameter: ssm.IParameter | None = None
        if telemetry.headers_secret:
            self._headers_secret = (
                secretsmanager.Secret.from_secret_complete_arn(self, "OtlpHeaders", telemetry.headers_secret)
                if telemetry.headers_secret.startswith("arn:")
                else secretsmanager.Secret.from_secret_name_v2(self, "OtlpHeaders", telemetry.headers_secret)
            )
        if telemetry.headers_parameter:
            self._headers_parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
                self, "OtlpHeaders", parameter_name=telemetry.headers_parameter
            )

    def telemetry_environment(self, settings: topology.FunctionSettings) -> dict[str, str]:
        """The `OTEL_*` and Powertools variables every function gets."""
        telemetry = self._config.telemetry
        name = service_name(settings)
        env = {
            "OTEL_SERVICE_NAME": name,
            "OTEL_RESOURCE_ATTRIBUTES": f"service.namespace={topology.PROJECT}",
            "OTEL_PROPAGATORS": "tracecontext,baggage",
            "OTEL_TRACES_SAMPLER": "parentbased_always_on",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
            "POWERTOOLS_SERVICE_NAME": name,
            "POWERTOOLS_LOG_LEVEL": self._config.log_level,
        }
        if telemetry.otlp_endpoint:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = telemetry.otlp_endpoint
        # Only where to read the headers goes into the template; their value is read at run time.
        if telemetry.headers_secret:
            env[HEADERS_SECRET_ENV] = telemetry.headers_secret
        if telemetry.headers_parameter:
            env[HEADERS_PARAMETER_ENV] = telemetry.headers_parameter
        return env

    def create(
        self,
        scope: Construct,
        settings: topology.FunctionSettings,
        *,
        environment: Mapping[str, str],
        description: str,
    ) -> lambda_.Function:
        """A function for `settings` (code from `functions/<name>/`) with the shared layers and env."""
        function_id = pascal_id(settings.name)
        log_group = logs.LogGroup(scope, f"{function_id}Logs", retention=logs.RetentionDays.ONE_MONTH)
        function = lambda_.Function(
            scope,
            function_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=settings.handler,
            code=lambda_.Code.from_asset(
                str(REPO_ROOT / settings.code_dir),
                bundling=bundling_options(
                    AssetPlan.function(REPO_ROOT / settings.code_dir), RUNTIME, ARCHITECTURE
                ),
                asset_hash_type=AssetHashType.OUTPUT,
                exclude=["**/__pycache__", "*.pyc"],
            ),
            memory_size=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_s),
            ephemeral_storage_size=Size.mebibytes(settings.ephemeral_storage_mb),
            layers=self._layers,
            environment={**self.telemetry_environment(settings), **environment},
            description=description,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(self._config.log_level),
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            log_group=log_group,
        )
        accept(
            function,
            "python3.13 is the runtime the code and the layers' cp313 wheels are built and "
            "tested for; moving to a newer runtime is a deliberate upgrade.",
            "AwsSolutions-L1",
        )
        accept(function, BASIC_EXECUTION_ROLE_REASON, BASIC_EXECUTION_ROLE)
        if self._headers_secret is not None:
            self._headers_secret.grant_read(function)
        if self._headers_parameter is not None:
            self._headers_parameter.grant_read(function)
        return function
