"""Each function's whole policy, row by row, against the table of what its code calls.

The tables come from the boto3 calls of each function's code path (router: SendMessageBatch to the
validation queue; validator: GetObject of the upload,
put of its report and claim-check batches (and, in legs, their parts, read back; ListParts and HEAD of a
report joined part by part), tenant GetItem, job Query/Put/Update, SendMessageBatch;
loader: GetObject of a claim-check, BatchWriteItem of tenant data, job Query/Put/Update and
ConditionCheck (the batch marker and counter shard are a Put and an Update inside TransactWriteItems);
reconciler: Receive and ChangeMessageVisibility on the batches DLQ, job Query/Update/ConditionCheck;
export: Query of tenant data, tenant GetItem, job Query/Put/Update, multipart upload and presigned GET
of its files, asynchronous Invoke of itself; migration: see `infra.constructs.migration.TABLE_ACTIONS`).
A grant wider than the table fails here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tests.infra.policy_tables import Row, policy_table
from tests.infra.template_queries import properties, published_id, referenced_id

Resource = topology.Resource
S3_READ = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
S3_PUT = (
    "s3:PutObject",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:Abort*",
)
SQS_CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
)
SQS_PEEK = ("sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility")
SQS_SEND = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
JOB_ACTIONS = ("dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")


def rows(actions: Iterable[str], *resources: str) -> set[Row]:
    return {(action, resource) for action in actions for resource in resources}


def read(bucket: Resource, pattern: str) -> set[Row]:
    """`Bucket.grant_read(fn, pattern)`: object reads under the pattern, bucket-level reads and lists."""
    return rows(S3_READ, f"<{bucket}>", f"<{bucket}>/{pattern}")


def put(bucket: Resource, pattern: str) -> set[Row]:
    return rows(S3_PUT, f"<{bucket}>/{pattern}")


def table(resource: Resource, *actions: str, indexed: bool = False) -> set[Row]:
    """Actions on a table (and on its indexes, which the CDK's table grants always include)."""
    resources = (f"<{resource}>", f"<{resource}>/index/*") if indexed else (f"<{resource}>",)
    return rows(actions, *resources)


def jobs(*actions: str) -> set[Row]:
    return table(Resource.JOBS_TABLE, *actions, indexed=True)


EXPECTED: dict[str, set[Row]] = {
    topology.IMPORT_ROUTE.name: (
        rows(SQS_SEND, f"<{Resource.VALIDATION_QUEUE}>") | rows(SQS_CONSUME, f"<{Resource.INGEST_QUEUE}>")
    ),
    topology.IMPORT_VALIDATE.name: (
        read(Resource.INGEST_BUCKET, "tenants/*/imports/*")
        | put(Resource.INGEST_BUCKET, "reports/*")
        | read(Resource.INGEST_BUCKET, "reports/*")  # a report joined in legs: ListParts, and HEAD on a retry
        | put(Resource.INGEST_BUCKET, "batches/*")
        | read(Resource.INGEST_BUCKET, "batches/*")  # a leg's parts, read back by the next leg
        | table(Resource.TENANTS_TABLE, "dynamodb:GetItem")
        | jobs(*JOB_ACTIONS)
        | rows(SQS_SEND, f"<{Resource.BATCHES_QUEUE}>", f"<{Resource.VALIDATION_QUEUE}>")
        | rows(SQS_CONSUME, f"<{Resource.VALIDATION_QUEUE}>")
    ),
    topology.IMPORT_LOAD.name: (
        read(Resource.INGEST_BUCKET, "batches/*")
        | table(Resource.TENANT_DATA_TABLE, "dynamodb:BatchWriteItem")
        | jobs(*JOB_ACTIONS, "dynamodb:ConditionCheckItem")
        | rows(SQS_CONSUME, f"<{Resource.BATCHES_QUEUE}>")
    ),
    topology.IMPORT_RECONCILE.name: (
        jobs("dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem")
        | rows(
            ["sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"],
            f"<{Resource.BATCHES_DLQ}>",
        )
    ),
    topology.EXPORT.name: (
        read(Resource.EXPORT_BUCKET, "tenants/*/exports/*")
        | put(Resource.EXPORT_BUCKET, "tenants/*/exports/*")
        | table(Resource.TENANT_DATA_TABLE, "dynamodb:Query")
        | table(Resource.TENANTS_TABLE, "dynamodb:GetItem")
        | jobs(*JOB_ACTIONS)
        | rows(["lambda:InvokeFunction"], f"<{Resource.EXPORT_FUNCTION}>", f"<{Resource.EXPORT_FUNCTION}>:*")
        | rows(SQS_SEND, f"<{Resource.EXPORT_FAILURES_QUEUE}>")
        | rows(SQS_CONSUME, f"<{Resource.EXPORT_FAILURES_QUEUE}>")
    ),
}


def migration_rows(region: str, peers: Iterable[str], table_ids: dict[Resource, str]) -> set[Row]:
    snapshots = f"<{Resource.SNAPSHOT_BUCKET}>"
    expected = (
        rows((*S3_READ, *S3_PUT, "s3:DeleteObject*"), snapshots, f"{snapshots}/*")
        | table(Resource.TENANT_DATA_TABLE, "dynamodb:Query", "dynamodb:BatchWriteItem")
        | table(Resource.TENANTS_TABLE, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        | jobs("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query")
    )
    for peer in peers:
        account = "<AWS::AccountId>"
        peer_bucket = f"arn:aws:s3:::{topology.PROJECT}-snapshots-{account}-{peer}-*"
        prefix = f"arn:aws:dynamodb:{peer}:{account}:table/{topology.PROJECT}-{peer}"
        data = f"{prefix}-{table_ids[Resource.TENANT_DATA_TABLE]}-*"
        tenants = f"{prefix}-{table_ids[Resource.TENANTS_TABLE]}-*"
        expected |= (
            rows((*S3_READ, *S3_PUT, "s3:DeleteObject*"), peer_bucket, f"{peer_bucket}/*")
            | rows(["dynamodb:Query", "dynamodb:BatchWriteItem"], data)
            | rows(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], tenants)
            | rows(["ssm:GetParameters"], f"arn:aws:ssm:{peer}:{account}:parameter{topology.SSM_PREFIX}/*")
        )
    assert region not in peers
    return expected


def labels(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> the topology name of the resource the stack publishes it as."""
    found: dict[str, str] = {}
    for resource in Resource:
        try:
            found[published_id(template, resource)] = str(resource)
        except AssertionError:
            continue
    return found


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
@pytest.mark.parametrize("name", [f.name for f in topology.FUNCTIONS])
def test_each_function_is_granted_exactly_its_table(synthesized: Any, region: str, name: str) -> None:
    stack = synthesized.stacks[region]
    if name not in stack.functions:
        pytest.skip(f"{name} is not deployed without its definition")
    template = synthesized.template_json(region)
    role = referenced_id(properties(template, logical_id(stack.functions[name]))["Role"])
    granted = policy_table(template, role, labels(template))
    if name == topology.MIGRATION.name:
        table_ids = {resource: logical_id(table) for resource, table in stack.store.tables.items()}
        expected = migration_rows(region, [peer for peer in synthesized.stacks if peer != region], table_ids)
    else:
        expected = EXPECTED[name]
    assert sorted(granted - expected) == [], "granted beyond the table"
    assert sorted(expected - granted) == [], "the table needs more than is granted"


def test_no_function_may_scan_or_delete_items(synthesized: Any) -> None:
    for region, stack in synthesized.stacks.items():
        template = synthesized.template_json(region)
        for function in stack.functions.values():
            role = referenced_id(properties(template, logical_id(function))["Role"])
            actions = {action for action, _ in policy_table(template, role, labels(template))}
            assert not actions & {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:*", "s3:*"}
