"""Creates, on the local AWS, the resources that `infra/` declares, from the same topology.

Every name and setting comes from `tenant_pipeline.topology`; the physical names are published as
SSM parameters, exactly where the deployed stack publishes them, so callers discover both worlds
the same way.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.topology import FunctionSettings, QueueSettings, Resource, TableSettings
from tenantctl.local.clients import local_client
from tenantctl.migrate_command import provision_state_machine

LOCAL_ROLE_NAME = f"{topology.PROJECT}-local-execution"
_ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
INGEST_NOTIFICATION_ID = "start-imports"


@dataclass
class RegionResources:
    """What was created in one region: the value published for each resource, and queue ARNs."""

    region: str
    published: dict[Resource, str] = field(default_factory=dict)
    queue_arns: dict[Resource, str] = field(default_factory=dict)
    function_names: dict[str, FunctionSettings] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Environment variables through which a function receives the physical names."""
        return {resource.env_var: value for resource, value in self.published.items()}


def function_resource(function: FunctionSettings) -> Resource | None:
    """The resource by which callers find a function, when it has one (`{name}-function`).

    Only functions that callers invoke through the Lambda API (the export, the migration phases
    run by Step Functions) publish a name; the others are fed by event source mappings.
    """
    wanted = f"{function.name.replace('_', '-')}-function"
    return next((resource for resource in Resource if resource.value == wanted), None)


def local_function_name(function: FunctionSettings, region: str) -> str:
    """Physical name of a function on the local AWS."""
    resource = function_resource(function)
    if resource is not None:
        return resource.local_name(region)
    return f"{topology.PROJECT}-{function.name.replace('_', '-')}"


def provision_region(endpoint_url: str | None, region: str) -> RegionResources:
    """Create buckets, queues with DLQs, tables, the ingest notification, functions and SSM names."""
    created = RegionResources(region=region)
    _create_buckets(local_client("s3", region, endpoint_url), region, created)
    _create_queues(local_client("sqs", region, endpoint_url), created)
    _create_tables(local_client("dynamodb", region, endpoint_url), created)
    _notify_imports(local_client("s3", region, endpoint_url), created)
    role_arn = _create_role(local_client("iam", region, endpoint_url))
    _register_functions(local_client("lambda", region, endpoint_url), role_arn, created)
    created.published[Resource.MIGRATION_STATE_MACHINE] = provision_state_machine(
        endpoint_url, region, role_arn=role_arn
    )
    _publish(local_client("ssm", region, endpoint_url), created.published)
    return created


def provision(
    endpoint_url: str | None, regions: Iterable[str] = topology.DEFAULT_REGIONS
) -> list[RegionResources]:
    return [provision_region(endpoint_url, region) for region in regions]


def queue_attributes(settings: QueueSettings, dlq_arn: str) -> dict[str, str]:
    """SQS attributes of a source queue, as topology declares them."""
    return {
        "VisibilityTimeout": str(settings.visibility_timeout_s),
        "MessageRetentionPeriod": str(settings.retention_s),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
        ),
    }


def table_definition(settings: TableSettings, region: str) -> dict[str, Any]:
    """CreateTable arguments for a topology table (string keys, on-demand, GSIs projecting all)."""
    key_names = {settings.partition_key, settings.sort_key}
    for index in settings.indexes:
        key_names |= {index.partition_key, index.sort_key}
    definition: dict[str, Any] = {
        "TableName": settings.table.local_name(region),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in sorted(key_names)],
        "KeySchema": [
            {"AttributeName": settings.partition_key, "KeyType": "HASH"},
            {"AttributeName": settings.sort_key, "KeyType": "RANGE"},
        ],
    }
    if settings.indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in settings.indexes
        ]
    return definition


def _create_buckets(s3: Any, region: str, created: RegionResources) -> None:
    for bucket in topology.BUCKETS:
        name = bucket.local_name(region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        # Versioned as the stack declares them: a re-upload is a new version, hence a new import job.
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        created.published[bucket] = name


def _create_queues(sqs: Any, created: RegionResources) -> None:
    region = created.region
    for settings in topology.ALL_QUEUES:
        dlq_url = sqs.create_queue(
            QueueName=settings.dlq.local_name(region),
            Attributes={"MessageRetentionPeriod": str(settings.dlq_retention_s)},
        )["QueueUrl"]
        dlq_arn = _queue_arn(sqs, dlq_url)
        queue_url = sqs.create_queue(
            QueueName=settings.queue.local_name(region), Attributes=queue_attributes(settings, dlq_arn)
        )["QueueUrl"]
        created.published[settings.dlq] = dlq_url
        created.published[settings.queue] = queue_url
        created.queue_arns[settings.dlq] = dlq_arn
        created.queue_arns[settings.queue] = _queue_arn(sqs, queue_url)


def _queue_arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def _create_tables(dynamodb: Any, created: RegionResources) -> None:
    for settings in topology.TABLES:
        definition = table_definition(settings, created.region)
        dynamodb.create_table(**definition)
        created.published[settings.table] = definition["TableName"]


def _notify_imports(s3: Any, created: RegionResources) -> None:
    """Uploads to the ingest bucket go to the ingest queue (`topology.INGEST_NOTIFICATION`), as the
    stack's notification sends them; the claim-check batches expire as the stack's lifecycle rule says."""
    bucket = created.published[Resource.INGEST_BUCKET]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": INGEST_NOTIFICATION_ID,
                    "QueueArn": created.queue_arns[Resource.INGEST_QUEUE],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": topology.INGEST_NOTIFICATION.filter_rules()}},
                }
            ]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [rule.lifecycle_rule() for rule in topology.INGEST_EXPIRY]},
    )


def _create_role(iam: Any) -> str:
    try:
        role = iam.get_role(RoleName=LOCAL_ROLE_NAME)
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=LOCAL_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_ASSUME_ROLE_POLICY)
        )
    return str(role["Role"]["Arn"])


def _placeholder_code() -> bytes:
    """The Lambda API needs a code package; the local runtime runs the real module in-process instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "# runs in-process on the local AWS\n")
    return buffer.getvalue()


def _register_functions(lambda_client: Any, role_arn: str, created: RegionResources) -> None:
    """Register the functions that callers invoke by name, so Step Functions tasks can reach them."""
    for function in topology.FUNCTIONS:
        resource = function_resource(function)
        if resource is None:
            continue
        name = resource.local_name(created.region)
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role_arn,
            Handler=function.handler,
            Code={"ZipFile": _placeholder_code()},
            Timeout=function.timeout_s,
            MemorySize=function.memory_mb,
        )
        created.published[resource] = name
        created.function_names[name] = function


def _publish(ssm: Any, published: Mapping[Resource, str]) -> None:
    for resource, value in published.items():
        ssm.put_parameter(Name=resource.ssm_parameter, Value=value, Type="String", Overwrite=True)
