"""The two layers every function carries: the OpenTelemetry layer and the pipeline domain layer."""

from __future__ import annotations

from aws_cdk import AssetHashType, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import REPO_ROOT
from infra.constructs.python_bundling import AssetPlan, bundling_options

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
"""Graviton costs about 20% less per GB-second; the layers' wheels are chosen for it."""


class PythonPackageLayer(Construct):
    """A layer built from `layers/<folder>/`: its pinned requirements plus the package itself."""

    def __init__(
        self, scope: Construct, construct_id: str, *, folder: str, package: str, description: str
    ) -> None:
        super().__init__(scope, construct_id)
        source = REPO_ROOT / "layers" / folder
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(source),
                bundling=bundling_options(AssetPlan.layer(source, package), RUNTIME, ARCHITECTURE),
                # what was built (with bytecode or not, depending on the machine) names the asset
                asset_hash_type=AssetHashType.OUTPUT,
                exclude=["**/__pycache__", "*.pyc"],
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
            removal_policy=RemovalPolicy.RETAIN,
        )


class TelemetryLayer(PythonPackageLayer):
    """`tenant_telemetry` and the OpenTelemetry SDK and OTLP exporter it pins."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(
            scope,
            construct_id,
            folder="telemetry",
            package="tenant_telemetry",
            description="tenant_telemetry: one OpenTelemetry trace per job, OTLP/HTTP export",
        )


class PipelineLayer(PythonPackageLayer):
    """`tenant_pipeline`, the domain shared by every function, with its pinned dependencies."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(
            scope,
            construct_id,
            folder="pipeline",
            package="tenant_pipeline",
            description="tenant_pipeline: formats, validation, tenant store, jobs, export, migration",
        )
