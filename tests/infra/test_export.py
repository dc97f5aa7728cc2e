"""The export bucket and function: reads tenant data, writes exports, records its job."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tests.infra.template_queries import (
    actions_on,
    as_list,
    policy_statements_of_role,
    properties,
    published_id,
    referenced_id,
    resource_refs,
)

Resource = topology.Resource


@pytest.fixture(scope="module")
def export(synthesized: Any, stack: Any) -> dict[str, Any]:
    template = synthesized.template_json(stack.region)
    props = properties(template, logical_id(stack.export.function))
    statements = policy_statements_of_role(template, referenced_id(props["Role"]))

    def actions(resource: topology.Resource) -> set[str]:
        return actions_on(statements, published_id(template, resource))

    return {"template": template, "props": props, "actions": actions, "statements": statements}


def test_export_function_is_the_published_one(export: dict[str, Any], stack: Any) -> None:
    assert published_id(export["template"], Resource.EXPORT_FUNCTION) == logical_id(stack.export.function)
    assert export["props"]["Timeout"] == topology.EXPORT.timeout_s


def test_export_reads_tenant_data_without_writing_it(export: dict[str, Any]) -> None:
    tenant_data = export["actions"](Resource.TENANT_DATA_TABLE)
    assert "dynamodb:Query" in tenant_data
    assert not tenant_data & {"dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"}


def test_export_writes_the_export_bucket_and_its_job(export: dict[str, Any]) -> None:
    bucket = export["actions"](Resource.EXPORT_BUCKET)
    assert {"s3:PutObject", "s3:Abort*"} <= bucket  # multipart uploads, aborted on failure
    assert "s3:DeleteObject*" not in bucket
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= export["actions"](Resource.JOBS_TABLE)
    assert export["actions"](Resource.INGEST_BUCKET) == set()


def test_export_bucket_expires_old_exports(export: dict[str, Any]) -> None:
    bucket = properties(export["template"], published_id(export["template"], Resource.EXPORT_BUCKET))
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(rule.get("ExpirationInDays") == 30 for rule in rules)
    assert any(rule.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1} for rule in rules)


def test_export_function_gets_its_names(export: dict[str, Any]) -> None:
    variables = export["props"]["Environment"]["Variables"]
    for resource in (
        Resource.EXPORT_BUCKET,
        Resource.TENANT_DATA_TABLE,
        Resource.JOBS_TABLE,
        Resource.TENANTS_TABLE,
    ):
        assert referenced_id(variables[resource.env_var]) == published_id(export["template"], resource)


def test_export_may_continue_in_an_invocation_of_itself(export: dict[str, Any], stack: Any) -> None:
    function_id = logical_id(stack.export.function)
    invokes = [
        statement
        for statement in export["statements"]
        if "lambda:InvokeFunction" in as_list(statement["Action"])
    ]
    assert invokes and all(resource_refs(statement) == {function_id} for statement in invokes)
