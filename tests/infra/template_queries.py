"""Finding resources in a synthesised template by what they are, not by their generated logical ids."""

from __future__ import annotations

from typing import Any

from tenant_pipeline import topology


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def referenced_id(value: Any) -> str:
    """The logical id behind `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}`."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"not a reference: {value!r}")


def published_id(template: dict[str, Any], resource: topology.Resource) -> str:
    """The logical id of the resource whose name the stack publishes at `resource.ssm_parameter`."""
    for parameter in resources_of_type(template, "AWS::SSM::Parameter").values():
        if parameter["Properties"]["Name"] == resource.ssm_parameter:
            return referenced_id(parameter["Properties"]["Value"])
    raise AssertionError(f"no SSM parameter {resource.ssm_parameter}")


def properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id]["Properties"])


def policy_statements_of_role(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to `role_id`."""
    statements: list[dict[str, Any]] = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        roles = [referenced_id(role) for role in policy["Properties"].get("Roles", [])]
        if role_id in roles:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_refs(statement: dict[str, Any]) -> set[str]:
    """Logical ids a statement's resources point at (through Ref, GetAtt or Fn::Join)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Ref" in node or "Fn::GetAtt" in node:
                found.add(referenced_id(node))
                return
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(statement.get("Resource"))
    return found


def actions_on(statements: list[dict[str, Any]], target_id: str) -> set[str]:
    """Actions the statements allow on the resource `target_id`."""
    return {
        action
        for statement in statements
        if statement["Effect"] == "Allow" and target_id in resource_refs(statement)
        for action in as_list(statement["Action"])
    }
