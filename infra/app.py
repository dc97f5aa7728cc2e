"""The CDK app: one `TenantPipelineStack` per region in context `regions`, checked by cdk-nag."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import DeploymentConfig
from infra.constructs.naming import stack_name
from infra.stack import TenantPipelineStack


def add_checks(app: App) -> None:
    """Runs cdk-nag's AWS Solutions pack on every stack: synthesis fails on any unacknowledged finding."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def build(app: App) -> list[TenantPipelineStack]:
    """Adds one stack per configured region, and the checks, to `app`."""
    config = DeploymentConfig.from_node(app.node)
    stacks = [
        TenantPipelineStack(
            app,
            stack_name(region),
            region=region,
            config=config,
            peer_regions=[peer for peer in config.regions if peer != region],
        )
        for region in config.regions
    ]
    add_checks(app)
    return stacks


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
