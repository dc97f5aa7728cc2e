"""Secure by default: private, TLS-only, encrypted, versioned, logged storage; encrypted queues and tables."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tests.infra.template_queries import (
    as_list,
    properties,
    published_id,
    referenced_id,
    resources_of_type,
)


@pytest.fixture(scope="module")
def template_json(synthesized: Any, stack: Any) -> dict[str, Any]:
    return dict(synthesized.template_json(stack.region))


def test_every_bucket_is_private_encrypted_and_versioned(template_json: dict[str, Any]) -> None:
    buckets = resources_of_type(template_json, "AWS::S3::Bucket")
    assert len(buckets) == len(topology.BUCKETS) + 1  # plus the access-log bucket
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket.get("DeletionPolicy") == "Retain"


def test_data_buckets_log_access_to_the_log_bucket(template_json: dict[str, Any], stack: Any) -> None:
    log_bucket = logical_id(stack.access_logs)
    for resource in topology.BUCKETS:
        logging = properties(template_json, published_id(template_json, resource))["LoggingConfiguration"]
        assert referenced_id(logging["DestinationBucketName"]) == log_bucket
        assert logging["LogFilePrefix"]


def test_every_bucket_policy_denies_insecure_transport(template_json: dict[str, Any]) -> None:
    policies = {
        referenced_id(policy["Properties"]["Bucket"]): policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in resources_of_type(template_json, "AWS::S3::BucketPolicy").values()
    }
    assert set(policies) == set(resources_of_type(template_json, "AWS::S3::Bucket"))
    for statements in policies.values():
        assert any(
            statement["Effect"] == "Deny"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and statement["Principal"] == {"AWS": "*"}
            for statement in statements
        )


def test_queues_are_encrypted_and_tls_only(template_json: dict[str, Any]) -> None:
    queues = resources_of_type(template_json, "AWS::SQS::Queue")
    assert len(queues) == 2 * len(topology.ALL_QUEUES)
    for queue in queues.values():
        assert (
            queue["Properties"].get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue["Properties"]
        )
    tls_only = {
        referenced_id(queue)
        for policy in resources_of_type(template_json, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in as_list(policy["Properties"]["Queues"])
    }
    assert tls_only == set(queues)


def test_tables_are_encrypted_with_point_in_time_recovery(template_json: dict[str, Any]) -> None:
    tables = resources_of_type(template_json, "AWS::DynamoDB::Table")
    assert len(tables) == len(topology.TABLES)
    for table in tables.values():
        props = table["Properties"]
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["DeletionProtectionEnabled"] is True
        assert table.get("DeletionPolicy") == "Retain"


def test_no_secret_value_is_in_the_template(template_json: dict[str, Any]) -> None:
    for function in resources_of_type(template_json, "AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "OTEL_EXPORTER_OTLP_HEADERS" not in variables
        assert "OTEL_EXPORTER_OTLP_TRACES_HEADERS" not in variables
