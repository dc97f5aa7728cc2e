"""The tenant store: tenant data, the jobs ledger and the tenant directory, as `topology.TABLES` declares."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.constructs.naming import pascal_id
from tenant_pipeline import topology


class TenantStore(Construct):
    """One on-demand table per `topology.TableSettings`, encrypted with point-in-time recovery."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[topology.Resource, dynamodb.Table] = {
            settings.table: self._table(settings) for settings in topology.TABLES
        }

    def table(self, resource: topology.Resource) -> dynamodb.Table:
        """The table declared for `resource`."""
        return self.tables[resource]

    def _table(self, settings: topology.TableSettings) -> dynamodb.Table:
        string = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self,
            pascal_id(settings.table),
            partition_key=dynamodb.Attribute(name=settings.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=settings.sort_key, type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in settings.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=string),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
