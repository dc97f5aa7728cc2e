"""The CDK app, synthesised once per test session (bundling skipped), shared by every infra test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# jsii prints a banner on every start under Node 20 unless told which version it may ignore.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

    from infra.stack import TenantPipelineStack

REPO_ROOT = Path(__file__).resolve().parents[2]


def app_context(**overrides: Any) -> dict[str, Any]:
    """The context `cdk synth` uses (cdk.json) with bundling skipped for every stack."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return {**context, "aws:cdk:bundling-stacks": [], **overrides}


@dataclass(frozen=True)
class SynthesizedApp:
    """The synthesised app: its stacks, their templates and the cloud assembly on disk."""

    stacks: dict[str, TenantPipelineStack]
    templates: dict[str, Template]
    outdir: Path

    def template_json(self, region: str) -> dict[str, Any]:
        return dict(self.templates[region].to_json())

    def metadata(self, region: str) -> dict[str, list[dict[str, Any]]]:
        """Construct metadata written next to the template (acknowledged rules live here)."""
        path = self.outdir / f"{self.stacks[region].stack_name}.metadata.json"
        return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    """Synthesis runs the AWS Solutions checks: it fails on any unacknowledged finding."""
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.app import build

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(context=app_context(), outdir=str(outdir))
    stacks = build(app)
    app.synth()
    yield SynthesizedApp(
        stacks={stack.region: stack for stack in stacks},
        templates={stack.region: Template.from_stack(stack) for stack in stacks},
        outdir=outdir,
    )


@pytest.fixture(scope="session")
def stack(synthesized: SynthesizedApp) -> TenantPipelineStack:
    """The first region's stack (every region's stack is built by the same code)."""
    return next(iter(synthesized.stacks.values()))


@pytest.fixture(scope="session")
def template(synthesized: SynthesizedApp, stack: TenantPipelineStack) -> Template:
    return synthesized.templates[stack.region]
