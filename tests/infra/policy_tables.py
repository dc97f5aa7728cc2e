"""A role's policies as a table of (action, resource) rows, resources named by what they are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.infra.template_queries import as_list, policy_statements_of_role, referenced_id

Row = tuple[str, str]


def render(node: Any, labels: Mapping[str, str]) -> str:
    """`{"Fn::Join": ["", [{"Fn::GetAtt": [id, "Arn"]}, "/reports/*"]]}` -> `<ingest-bucket>/reports/*`."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and ("Ref" in node or "Fn::GetAtt" in node):
        logical = referenced_id(node)
        return f"<{labels.get(logical, logical)}>"
    if isinstance(node, dict) and "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return str(separator).join(render(part, labels) for part in parts)
    raise AssertionError(f"unexpected policy resource {node!r}")


def policy_table(template: dict[str, Any], role_id: str, labels: Mapping[str, str]) -> set[Row]:
    """Every (action, resource) an Allow statement of the role's inline policies grants."""
    rows: set[Row] = set()
    for statement in policy_statements_of_role(template, role_id):
        assert statement["Effect"] == "Allow", statement
        assert "Condition" not in statement, statement
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                rows.add((action, render(resource, labels)))
    return rows
