"""The tenant migration workflow: snapshot bucket, migration function and the Step Functions state machine.

The state machine exists once its definition (`infra/statemachines/tenant_migration.asl.json`) does;
until then the stack holds only the snapshot bucket. A migration reads and writes the peer regions'
copies of the stack, so the function is granted exactly those: their published parameters, their
tenant tables (CloudFormation names them `<stack>-<logical id>-<suffix>`, and stack names and
logical ids are the same code in every region) and their snapshot bucket (named after account and
region so that every region can name its pattern, and ending in a part of the stack's id, so that a
stack deployed again after a failed first deploy or a destroy never meets its retained predecessor).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Arn, ArnComponents, ArnFormat, Aws, Duration, Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.asl_template import StateMachineDefinition, load_definition
from infra.config import REPO_ROOT
from infra.constructs.buckets import secure_bucket
from infra.constructs.functions import FunctionFactory
from infra.constructs.nag import (
    GRANT_ACTIONS_REASON,
    S3_DELETE_ACTIONS,
    S3_PUT_ACTIONS,
    S3_READ_ACTIONS,
    TABLE_INDEX_REASON,
    accept,
    arn_wildcard,
    logical_id,
)
from infra.constructs.naming import pascal_id, stack_name
from infra.constructs.storage import TenantStore
from tenant_pipeline import topology
from tenant_pipeline.migration.reconcile import ENDED_BADLY, EVENT_DETAIL_TYPE, EVENT_SOURCE

Resource = topology.Resource
DEFINITION_PATH = REPO_ROOT / "infra" / "statemachines" / "tenant_migration.asl.json"
SNAPSHOT_RETENTION = Duration.days(30)
"""Snapshots are kept a month after a migration, long enough to investigate or replay it."""
FUNCTION_PLACEHOLDER = "MigrationFunctionArn"
MAP_RESULTS_PREFIX = "map-runs/"
"""Where the load's Distributed Map writes its run's results (`ResultWriter`) in the snapshot bucket."""
PEER_TABLES = (Resource.TENANT_DATA_TABLE, Resource.TENANTS_TABLE)
"""What a migration touches in another region besides its snapshot bucket (see `migration.context`)."""
TABLE_ACTIONS = {
    # Snapshot and verify read a tenant's items by Query; load, rollback and purge write them in batches.
    Resource.TENANT_DATA_TABLE: ("dynamodb:Query", "dynamodb:BatchWriteItem"),
    # Freeze, cutover and rollback read, create and update a tenant's directory entry.
    Resource.TENANTS_TABLE: ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
    # The migration's job record and its phase records, listed by Query.
    Resource.JOBS_TABLE: ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"),
}
"""The calls `tenant_pipeline.migration` makes on each table (in its own region and, for
`PEER_TABLES`, in the peers)."""


def _literal(stack: Stack, token: str, pseudo: str) -> str:
    """How cdk-nag names a pseudo parameter in a finding: its value when the stack fixes it."""
    resolved = stack.resolve(token)
    return resolved if isinstance(resolved, str) else f"<{pseudo}>"


def snapshot_bucket_prefix(region: str) -> str:
    """`tenant-pipelines-snapshots-<account>-<region>-`: what any region knows of a region's bucket name."""
    return f"{topology.PROJECT}-snapshots-{Aws.ACCOUNT_ID}-{region}-"


def stack_instance_id() -> str:
    """The first group of the stack id's UUID (8 hex digits): new for every creation of the stack."""
    return Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))


def snapshot_bucket_name(region: str) -> str:
    """`tenant-pipelines-snapshots-<account>-<region>-<stack instance>` (at most 63 characters for
    every region name of up to 14): the retained bucket of an earlier stack never blocks a new one.
    A peer region finds the name through the stack's published SSM parameter."""
    return f"{snapshot_bucket_prefix(region)}{stack_instance_id()}"


class MigrationWorkflow(Construct):
    """Snapshot bucket and, when the definition exists, the migration function and state machine."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: FunctionFactory,
        store: TenantStore,
        access_logs: s3.IBucket,
        definition_path: Path = DEFINITION_PATH,
        peer_regions: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.peer_regions = tuple(peer_regions)
        self.bucket = secure_bucket(
            self,
            "SnapshotBucket",
            access_logs=access_logs,
            log_prefix="snapshot/",
            lifecycle_rules=[s3.LifecycleRule(expiration=SNAPSHOT_RETENTION)],
            bucket_name=snapshot_bucket_name(Stack.of(self).region),
        )
        self.function: lambda_.Function | None = None
        self.state_machine: sfn.StateMachine | None = None
        self.definition: StateMachineDefinition | None = None
        if definition_path.is_file():
            self._add_state_machine(functions, store, definition_path)

    def _grant_peer_region(self, function: lambda_.Function, store: TenantStore, region: str) -> None:
        """Read/write the peer's tenant tables and snapshot bucket, and read its published names."""
        stack = Stack.of(self)
        peer = f"Peer{pascal_id(region)}"
        # cdk-nag names the partition literally when the stack's region fixes it.
        resolved = stack.resolve(stack.partition)
        partition = resolved if isinstance(resolved, str) else "<AWS::Partition>"
        parameters = Arn.format(
            ArnComponents(
                service="ssm",
                region=region,
                resource="parameter",
                resource_name=f"{topology.SSM_PREFIX.lstrip('/')}/*",
            ),
            stack,
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["ssm:GetParameters"], resources=[parameters])
        )
        findings = [
            f"AwsSolutions-IAM5[Resource::arn:{partition}:ssm:{region}:<AWS::AccountId>:"
            f"parameter{topology.SSM_PREFIX}/*]"
        ]
        for resource in PEER_TABLES:
            name = f"{stack_name(region)}-{logical_id(store.table(resource))}-*"
            table = dynamodb.Table.from_table_arn(
                self,
                f"{peer}{pascal_id(resource)}",
                Arn.format(
                    ArnComponents(service="dynamodb", region=region, resource="table", resource_name=name),
                    stack,
                ),
            )
            table.grant(function, *TABLE_ACTIONS[resource])
            findings.append(
                f"AwsSolutions-IAM5[Resource::arn:{partition}:dynamodb:{region}:"
                f"<AWS::AccountId>:table/{name}]"
            )
        bucket = s3.Bucket.from_bucket_name(
            self, f"{peer}SnapshotBucket", f"{snapshot_bucket_prefix(region)}*"
        )
        bucket.grant_read_write(function)
        peer_bucket = f"arn:{partition}:s3:::{topology.PROJECT}-snapshots-<AWS::AccountId>-{region}-*"
        findings += [
            f"AwsSolutions-IAM5[Resource::{peer_bucket}]",
            f"AwsSolutions-IAM5[Resource::{peer_bucket}/*]",
        ]
        accept(
            function,
            f"The peer stack in {region}: its parameters under {topology.SSM_PREFIX}, its tenant "
            "tables (CloudFormation's random suffix) and its snapshot keys, known only at run time.",
            *findings,
        )

    def _add_state_machine(self, functions: FunctionFactory, store: TenantStore, path: Path) -> None:
        names = {Resource.SNAPSHOT_BUCKET: self.bucket.bucket_name} | {
            resource: table.table_name for resource, table in store.tables.items()
        }
        self.function = functions.create(
            self,
            topology.MIGRATION,
            description="Runs one phase of a tenant migration between regions",
            environment={resource.env_var: name for resource, name in names.items()},
        )
        self.bucket.grant_read_write(self.function)
        for resource, table in store.tables.items():
            table.grant(self.function, *TABLE_ACTIONS[resource])
        accept(self.function, GRANT_ACTIONS_REASON, *S3_READ_ACTIONS, *S3_PUT_ACTIONS, *S3_DELETE_ACTIONS)
        accept(
            self.function,
            "Snapshot keys carry the tenant and execution, known only at run time; the bucket "
            "holds nothing but snapshots.",
            arn_wildcard(self.bucket, "/*"),
        )
        accept(self.function, TABLE_INDEX_REASON, arn_wildcard(store.table(Resource.JOBS_TABLE), "/index/*"))
        for region in self.peer_regions:
            self._grant_peer_region(self.function, store, region)

        # The file's placeholders may name the function and any resource by its topology key.
        available = {FUNCTION_PLACEHOLDER: self.function.function_arn} | {
            pascal_id(resource): name for resource, name in names.items()
        }
        self.definition = load_definition(path, available)
        log_group = logs.LogGroup(self, "ExecutionLogs", retention=logs.RetentionDays.ONE_MONTH)
        # Named, so its role can name it: the Distributed Map starts child executions of this machine.
        name = f"{Stack.of(self).stack_name}-migration"
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_string(self.definition.text),
            definition_substitutions=dict(self.definition.substitutions),
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        self._grant_distributed_map(self.state_machine, name)
        self._roll_back_failed_executions(self.state_machine, self.function)
        self.function.grant_invoke(self.state_machine)
        accept(
            self.state_machine,
            "Each migration is traced with OpenTelemetry through the execution input's "
            "`trace` field; X-Ray would start a second, disconnected trace.",
            "AwsSolutions-SF2",
        )
        accept(
            self.state_machine,
            "CloudWatch Logs delivery actions (logs:CreateLogDelivery, ...) accept only `*` as resource.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        accept(
            self.state_machine,
            "Invoking the migration function's versions and aliases (`<arn>:*`), the "
            "grant the CDK makes for a Lambda task.",
            arn_wildcard(self.function, ":*"),
        )

    def _grant_distributed_map(self, machine: sfn.StateMachine, name: str) -> None:
        """What the load's Distributed Map does as the state machine: start and follow child
        executions of this machine, read the chunk index and write its run's results."""
        stack = Stack.of(self)
        machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine_arn])
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions]
            )
        )
        self.bucket.grant_read(machine, "migrations/*")
        self.bucket.grant_put(machine, f"{MAP_RESULTS_PREFIX}*")
        accept(
            machine,
            "A Distributed Map's child executions are named by Step Functions at run time; the chunk "
            "index and the map run's results have keys known only at run time.",
            f"AwsSolutions-IAM5[Resource::arn:{_literal(stack, stack.partition, 'AWS::Partition')}:states:"
            f"{_literal(stack, stack.region, 'AWS::Region')}:<AWS::AccountId>:execution:{name}:*]",
            *S3_READ_ACTIONS,
            *S3_PUT_ACTIONS,
            arn_wildcard(self.bucket, "/migrations/*"),
            arn_wildcard(self.bucket, f"/{MAP_RESULTS_PREFIX}*"),
        )

    def _roll_back_failed_executions(self, machine: sfn.StateMachine, function: lambda_.Function) -> None:
        """Failures no Catch can take (States.DataLimitExceeded, the execution's timeout, a
        StopExecution) end the execution without its Rollback state: EventBridge hands the
        execution's status change to the function, which rolls back a migration left RUNNING."""
        events.Rule(
            self,
            "FailedExecutions",
            description="Roll back a tenant migration whose execution failed, timed out or was aborted",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[EVENT_DETAIL_TYPE],
                detail={"stateMachineArn": [machine.state_machine_arn], "status": list(ENDED_BADLY)},
            ),
            targets=[targets.LambdaFunction(function, retry_attempts=5)],
        )
