"""Publishes each resource's physical name where callers look for it: SSM parameters and stack outputs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.constructs.naming import pascal_id
from tenant_pipeline import topology


class ResourceDirectory(Construct):
    """One SSM parameter at `Resource.ssm_parameter` and one output per resource (name, URL or ARN)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: Mapping[topology.Resource, str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.parameters: dict[topology.Resource, ssm.StringParameter] = {}
        for resource, value in names.items():
            self.parameters[resource] = ssm.StringParameter(
                self,
                pascal_id(resource),
                parameter_name=resource.ssm_parameter,
                string_value=value,
                description=f"Physical name of the {resource} of {topology.PROJECT}",
            )
            output = CfnOutput(
                self,
                f"{pascal_id(resource)}Output",
                value=value,
                description=f"{resource} (also in SSM at {resource.ssm_parameter})",
            )
            output.override_logical_id(pascal_id(resource))
