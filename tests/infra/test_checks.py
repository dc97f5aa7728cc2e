"""cdk-nag AWS Solutions checks and cfn-lint on the synthesised templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenant_pipeline import topology
from tests.infra.conftest import app_context

IGNORED_LINT_RULES = ["W3005"]
"""W3005: the CDK writes an explicit DependsOn next to a GetAtt that already implies it; harmless."""


def acknowledged_rules(synthesized: Any, region: str) -> dict[str, dict[str, str]]:
    """{construct path: {rule: reason}} for every acknowledgment recorded in the stack's metadata."""
    found: dict[str, dict[str, str]] = {}
    for path, entries in synthesized.metadata(region).items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                found.setdefault(path, {}).update(entry["data"])
    return found


def test_synthesis_passed_the_aws_solutions_checks(synthesized: Any) -> None:
    # Synthesis raises on any unacknowledged finding, so reaching here means there were none;
    # the acknowledgments prove the checks looked at these stacks.
    for region in synthesized.stacks:
        rules = {rule for by_rule in acknowledged_rules(synthesized, region).values() for rule in by_rule}
        assert any("AwsSolutions-" in rule for rule in rules)


def test_every_acknowledgment_gives_a_reason(synthesized: Any) -> None:
    for region in synthesized.stacks:
        for path, by_rule in acknowledged_rules(synthesized, region).items():
            for rule, reason in by_rule.items():
                assert "AwsSolutions-" in rule, f"{path}: unexpected acknowledgment {rule}"
                assert len(reason.split()) >= 8, f"{path}: {rule} needs a real reason, got {reason!r}"


def test_no_blanket_acknowledgment_of_wildcard_permissions(synthesized: Any) -> None:
    for region in synthesized.stacks:
        for path, by_rule in acknowledged_rules(synthesized, region).items():
            assert "Annotation::AwsSolutions-IAM5" not in by_rule, f"{path}: IAM5 acknowledged wholesale"


def test_the_checks_fail_synthesis_on_a_finding() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    from infra.app import add_checks

    # Given an app with an unencrypted queue that enforces no TLS and has no DLQ
    app = App(context=app_context())
    sqs.Queue(Stack(app, "Unsafe"), "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    add_checks(app)
    # When it is synthesised, then the checks stop it
    with pytest.raises(Exception, match=r"ValidationFailed(.|\n)*AwsSolutions-SQS2"):
        app.synth()


@pytest.mark.parametrize("region", topology.DEFAULT_REGIONS)
def test_cfn_lint_is_clean(synthesized: Any, region: str) -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(
        json.dumps(synthesized.template_json(region)),
        config=ManualArgs(regions=[region], ignore_checks=IGNORED_LINT_RULES),
    )
    assert [str(match) for match in matches] == []
