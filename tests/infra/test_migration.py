"""The migration workflow: snapshot bucket, ASL loading with `${...}` substitutions, the state machine."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.asl_template import (
    DefinitionNotFoundError,
    InvalidDefinitionError,
    MissingSubstitutionError,
    load_definition,
    placeholders,
    substitute,
)
from infra.constructs.migration import DEFINITION_PATH, FUNCTION_PLACEHOLDER
from infra.constructs.nag import logical_id
from tenant_pipeline import topology
from tests.infra.conftest import REPO_ROOT, app_context
from tests.infra.template_queries import (
    policy_statements_of_role,
    properties,
    published_id,
    referenced_id,
    resources_of_type,
)

Resource = topology.Resource
ASL_VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"

TINY_ASL = {
    "Comment": "Snapshot then finish",
    "StartAt": "Snapshot",
    "States": {
        "Snapshot": {
            "Type": "Task",
            "Resource": "${MigrationFunctionArn}",
            "Parameters": {"phase": "snapshot", "bucket": "${SnapshotBucket}", "tenant_id.$": "$.tenant_id"},
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "BackoffRate": 2}],
            "End": True,
        }
    },
}


@pytest.fixture
def tiny_asl(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.asl.json"
    path.write_text(json.dumps(TINY_ASL, indent=2), encoding="utf-8")
    return path


def asl_validate(path: Path) -> subprocess.CompletedProcess[str]:
    if not ASL_VALIDATOR.exists() or shutil.which("node") is None:
        pytest.skip("asl-validator is not installed (npm ci)")
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False
    )


def test_placeholders_are_found_and_jsonpath_is_left_alone() -> None:
    text = '{"a": "${One}", "b.$": "$.x", "c": "${Two}-${One}", "d": "${Token[TOKEN.12]}"}'
    assert placeholders(text) == {"One", "Two"}


def test_substitute_replaces_every_placeholder_once() -> None:
    rendered = substitute('{"r": "${Fn}", "s": "${Fn}/${Bucket}"}', {"Fn": "arn:fn:${Bucket}", "Bucket": "b"})
    # A value that itself looks like a placeholder is not substituted again.
    assert json.loads(rendered) == {"r": "arn:fn:${Bucket}", "s": "arn:fn:${Bucket}/b"}


def test_substitute_names_every_missing_value() -> None:
    with pytest.raises(MissingSubstitutionError, match="Bucket, Fn"):
        substitute('{"r": "${Fn}", "s": "${Bucket}"}', {})


def test_load_definition_keeps_only_the_substitutions_it_uses(tiny_asl: Path) -> None:
    definition = load_definition(
        tiny_asl, {"MigrationFunctionArn": "arn:fn", "SnapshotBucket": "snaps", "JobsTable": "jobs"}
    )
    assert dict(definition.substitutions) == {"MigrationFunctionArn": "arn:fn", "SnapshotBucket": "snaps"}
    assert json.loads(definition.render())["States"]["Snapshot"]["Resource"] == "arn:fn"


def test_load_definition_rejects_unknown_placeholders(tiny_asl: Path) -> None:
    with pytest.raises(MissingSubstitutionError, match="SnapshotBucket"):
        load_definition(tiny_asl, {"MigrationFunctionArn": "arn:fn"})


def test_load_definition_rejects_what_is_not_a_state_machine(tmp_path: Path) -> None:
    not_json = tmp_path / "broken.asl.json"
    not_json.write_text('{"StartAt": ', encoding="utf-8")
    no_states = tmp_path / "empty.asl.json"
    no_states.write_text('{"Comment": "nothing"}', encoding="utf-8")

    with pytest.raises(InvalidDefinitionError, match="not valid JSON"):
        load_definition(not_json, {})
    with pytest.raises(InvalidDefinitionError, match="StartAt"):
        load_definition(no_states, {})
    with pytest.raises(DefinitionNotFoundError):
        load_definition(tmp_path / "missing.asl.json", {})


def test_rendered_tiny_definition_passes_asl_validator(tiny_asl: Path, tmp_path: Path) -> None:
    definition = load_definition(
        tiny_asl,
        {
            "MigrationFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:migration",
            "SnapshotBucket": "snapshots",
        },
    )
    rendered = tmp_path / "rendered.asl.json"
    rendered.write_text(definition.render(), encoding="utf-8")
    result = asl_validate(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def workflow_with_tiny_asl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The workflow construct, checked by cdk-nag, loading a tiny definition instead of the real one."""
    from aws_cdk import App, Stack
    from aws_cdk.assertions import Template

    from infra.app import add_checks
    from infra.config import DeploymentConfig
    from infra.constructs.buckets import AccessLogsBucket
    from infra.constructs.functions import FunctionFactory
    from infra.constructs.migration import MigrationWorkflow
    from infra.constructs.storage import TenantStore

    path = tmp_path_factory.mktemp("asl") / "tenant_migration.asl.json"
    path.write_text(json.dumps(TINY_ASL), encoding="utf-8")
    app = App(context=app_context())
    stack = Stack(app, "MigrationOnly")
    workflow = MigrationWorkflow(
        stack,
        "Migration",
        functions=FunctionFactory(stack, "Functions", config=DeploymentConfig(), layers=[]),
        store=TenantStore(stack, "TenantStore"),
        access_logs=AccessLogsBucket(stack, "AccessLogs").bucket,
        definition_path=path,
    )
    add_checks(app)
    return {"template": Template.from_stack(stack).to_json(), "workflow": workflow, "text": path.read_text()}


def test_state_machine_gets_the_file_and_its_substitutions(workflow_with_tiny_asl: dict[str, Any]) -> None:
    template, workflow = workflow_with_tiny_asl["template"], workflow_with_tiny_asl["workflow"]
    (machine,) = resources_of_type(template, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]

    assert props["DefinitionString"] == workflow_with_tiny_asl["text"]
    substitutions = props["DefinitionSubstitutions"]
    assert set(substitutions) == {FUNCTION_PLACEHOLDER, "SnapshotBucket"}
    assert substitutions[FUNCTION_PLACEHOLDER] == {"Fn::GetAtt": [logical_id(workflow.function), "Arn"]}
    assert referenced_id(substitutions["SnapshotBucket"]) == logical_id(workflow.bucket)
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_migration_function_follows_topology(workflow_with_tiny_asl: dict[str, Any]) -> None:
    template, workflow = workflow_with_tiny_asl["template"], workflow_with_tiny_asl["workflow"]
    props = properties(template, logical_id(workflow.function))
    assert (props["MemorySize"], props["Timeout"]) == (
        topology.MIGRATION.memory_mb,
        topology.MIGRATION.timeout_s,
    )
    assert referenced_id(props["Environment"]["Variables"][Resource.SNAPSHOT_BUCKET.env_var]) == logical_id(
        workflow.bucket
    )


def test_stack_has_a_snapshot_bucket_and_a_state_machine_only_with_a_definition(
    synthesized: Any, stack: Any
) -> None:
    template = synthesized.template_json(stack.region)
    assert published_id(template, Resource.SNAPSHOT_BUCKET) == logical_id(stack.migration.bucket)
    machines = resources_of_type(template, "AWS::StepFunctions::StateMachine")
    assert len(machines) == (1 if DEFINITION_PATH.is_file() else 0)


@pytest.mark.skipif(not DEFINITION_PATH.is_file(), reason="the migration definition is not written yet")
def test_migration_definition_passes_asl_validator() -> None:
    result = asl_validate(DEFINITION_PATH)
    assert result.returncode == 0, result.stdout + result.stderr


def test_migration_may_reach_each_peer_regions_stack_and_nothing_wider(synthesized: Any) -> None:
    for region, stack in synthesized.stacks.items():
        if stack.migration.function is None:
            pytest.skip("the migration definition is not written yet")
        template = synthesized.template_json(region)
        role = referenced_id(properties(template, logical_id(stack.migration.function))["Role"])
        resources = json.dumps(
            [statement["Resource"] for statement in policy_statements_of_role(template, role)]
        )
        for peer in synthesized.stacks:
            if peer == region:
                continue
            assert f":ssm:{peer}:" in resources and f"parameter{topology.SSM_PREFIX}/*" in resources
            assert f"table/{topology.PROJECT}-{peer}-TenantStoreTenantDataTable" in resources
            assert f"table/{topology.PROJECT}-{peer}-TenantStoreTenantsTable" in resources
            assert f"{topology.PROJECT}-snapshots-" in resources and f"-{peer}-*/*" in resources
        assert '"*"' not in resources
        assert (
            f"table/{topology.PROJECT}-{region}-" not in resources
        )  # its own tables are granted by reference


def test_snapshot_bucket_name_starts_alike_in_every_region_and_ends_with_the_stack_instance(
    synthesized: Any, stack: Any
) -> None:
    # A retained bucket of an earlier stack (failed first deploy, destroy) must not block a new one:
    # the name ends with part of the stack id, which CloudFormation makes anew for every stack.
    template = synthesized.template_json(stack.region)
    name = properties(template, logical_id(stack.migration.bucket))["BucketName"]
    instance = {
        "Fn::Select": [
            0,
            {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]},
        ]
    }
    assert json.dumps(name) == json.dumps(
        {
            "Fn::Join": [
                "",
                [f"{topology.PROJECT}-snapshots-", {"Ref": "AWS::AccountId"}, f"-{stack.region}-", instance],
            ]
        }
    )
    longest = len(f"{topology.PROJECT}-snapshots-") + 12 + len("-ap-southeast-5-") + 8
    assert longest <= 63


def test_the_state_machine_may_run_its_distributed_map_and_nothing_wider(synthesized: Any) -> None:
    for region, stack in synthesized.stacks.items():
        template = synthesized.template_json(region)
        machine = logical_id(stack.migration.state_machine)
        name = properties(template, machine)["StateMachineName"]
        role = referenced_id(properties(template, machine)["RoleArn"])
        statements = policy_statements_of_role(template, role)
        by_action = {
            action: json.dumps(statement["Resource"])
            for statement in statements
            for action in (
                statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            )
        }
        # child executions of itself only (the Distributed Map), its function, the chunk index, its results
        assert f":stateMachine:{name}" in by_action["states:StartExecution"]
        assert f":execution:{name}:*" in by_action["states:DescribeExecution"]
        assert "/migrations/*" in by_action["s3:GetObject*"]
        assert "/map-runs/*" in by_action["s3:PutObject"]
        assert '"*"' not in json.dumps([by_action[action] for action in by_action if action.startswith("s")])


def test_a_failed_timed_out_or_aborted_execution_reaches_the_migration_function(synthesized: Any) -> None:
    for region, stack in synthesized.stacks.items():
        template = synthesized.template_json(region)
        (rule,) = [
            resource["Properties"]
            for resource in resources_of_type(template, "AWS::Events::Rule").values()
            if resource["Properties"].get("EventPattern", {}).get("source") == ["aws.states"]
        ]
        pattern = rule["EventPattern"]
        assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
        assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
        (machine,) = pattern["detail"]["stateMachineArn"]
        assert referenced_id(machine) == logical_id(stack.migration.state_machine)
        (target,) = rule["Targets"]
        assert referenced_id(target["Arn"]) == logical_id(stack.migration.function)
