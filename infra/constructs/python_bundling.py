"""Builds a Python Lambda asset (a layer or a function's code) with bytecode compiled for the runtime.

Bytecode is compiled with `--invalidation-mode unchecked-hash`: asset copies change the source files'
timestamps, which would make timestamp-checked `.pyc` files stale (recompiled at every cold start) on
Lambda's read-only file system. Where it is built depends on the machine (`build_host`):

- a container engine: CDK's standard bundling image of the runtime runs pip and `compileall`;
- an interpreter of the runtime's Python here: pip installs wheels for the functions' platform and that
  interpreter compiles them;
- neither: the asset is built without bytecode, and a warning names the cost.

pip always takes binary wheels for the functions' platform and Python version (`--only-binary`), so nothing
is compiled for the wrong machine, and the SDK packages the runtime ships are left out.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

import jsii
from aws_cdk import BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.constructs.build_host import BuildHost, BundlingMode, python_version

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
"""The Lambda runtime ships these; a layer copy would only add cold-start bytes and version skew."""

_HOST_BUILDS = ("__pycache__", "*.pyc", "*.pyo", "*.so")
"""Bytecode and extensions built for this host are useless, or wrong, on Lambda: never copied."""
_IGNORED = shutil.ignore_patterns(*_HOST_BUILDS)

COLD_START_COST_WITHOUT_BYTECODE = "about 400-500 ms of CPU per cold start of a function with its layers"
"""What shipping source only costs (`make bench`, `cold_start`: each handler's imports, compiled vs not)."""

_CONTAINER_INPUT = PurePosixPath("/asset-input")
_CONTAINER_OUTPUT = PurePosixPath("/asset-output")


class AssetBundlingError(RuntimeError):
    """pip or compileall failed while building an asset."""


@dataclass(frozen=True)
class AssetPlan:
    """What goes into an asset: `copies` (folders under `source`) into `site`, plus `requirements`' wheels."""

    source: Path
    copies: tuple[str, ...]
    site: str
    """`python` for a layer (where the runtime looks for layer code), `` for a function's code."""
    requirements: str | None = None

    @classmethod
    def layer(cls, source: Path, package: str) -> AssetPlan:
        requirements = "requirements.txt" if (source / "requirements.txt").is_file() else None
        return cls(source=source, copies=(package,), site="python", requirements=requirements)

    @classmethod
    def function(cls, source: Path) -> AssetPlan:
        return cls(source=source, copies=(".",), site="")


def pip_platform(architecture: lambda_.Architecture) -> str:
    """The manylinux tag of wheels that run on the functions' architecture."""
    machine = "aarch64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return f"manylinux2014_{machine}"


def pip_command(
    python: str,
    requirements: Path | PurePosixPath,
    target: Path | PurePosixPath,
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
) -> list[str]:
    """The pip invocation that installs `requirements` for the Lambda platform into `target`."""
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--requirement",
        str(requirements),
        "--target",
        str(target),
        "--platform",
        pip_platform(architecture),
        "--implementation",
        "cp",
        "--python-version",
        python_version(runtime),
        "--only-binary=:all:",
        "--upgrade",
    ]


def compile_command(python: str, target: Path | PurePosixPath) -> list[str]:
    """Bytecode for every module under `target`, valid whatever the files' timestamps become."""
    return [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(target)]


def container_command(
    plan: AssetPlan, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> list[str]:
    """The bundling image's command: the same steps, with the image's own Python (the runtime's)."""
    site = _CONTAINER_OUTPUT / plan.site if plan.site else _CONTAINER_OUTPUT
    steps = [shlex.join(["mkdir", "-p", str(site)])]
    if plan.requirements:
        requirements = _CONTAINER_INPUT / plan.requirements
        steps.append(shlex.join(pip_command("python", requirements, site, runtime, architecture)))
        # unquoted: the shell expands the dist-info patterns
        steps.append("rm -rf " + " ".join(f"{site}/{pattern}" for pattern in _runtime_provided_globs()))
    excluded = [f"--exclude={pattern}" for pattern in _HOST_BUILDS]
    for copy in plan.copies:
        archive = ["tar", "-C", str(_CONTAINER_INPUT), *excluded, "-cf", "-", copy]
        steps.append(f"{shlex.join(archive)} | {shlex.join(['tar', '-C', str(site), '-xf', '-'])}")
    steps.append(shlex.join(compile_command("python", site)))
    return ["bash", "-c", " && ".join(steps)]


def _runtime_provided_globs() -> list[str]:
    return [pattern for name in RUNTIME_PROVIDED for pattern in (name, f"{name}-*.dist-info")]


def bundling_options(
    plan: AssetPlan,
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
    host: BuildHost | None = None,
) -> BundlingOptions:
    """Bundling that runs in the runtime's image where a container engine answers, locally otherwise."""
    local = PythonAssetBundling(plan, runtime, architecture, host)
    return BundlingOptions(
        image=runtime.bundling_image,
        command=container_command(plan, runtime, architecture),
        # jsii hands `try_bundle` the options as one struct, not as the protocol's keywords.
        local=cast(ILocalBundling, local),
    )


@jsii.implements(ILocalBundling)
class PythonAssetBundling:
    """Local bundling of an `AssetPlan`; declines (so CDK runs the container) when an engine answers."""

    def __init__(
        self,
        plan: AssetPlan,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        host: BuildHost | None = None,
    ) -> None:
        self._plan = plan
        self._runtime = runtime
        self._architecture = architecture
        self._host = host

    @property
    def host(self) -> BuildHost:
        """Detected on first use: a synth that bundles nothing never starts the probes."""
        if self._host is None:
            self._host = BuildHost.detect(self._runtime)
        return self._host

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        """Called by the CDK before container bundling; True means the asset is built."""
        mode = self.host.mode()
        if mode is BundlingMode.CONTAINER:
            return False
        site = Path(output_dir) / self._plan.site
        site.mkdir(parents=True, exist_ok=True)
        if self._plan.requirements:
            requirements = self._plan.source / self._plan.requirements
            _run(pip_command(sys.executable, requirements, site, self._runtime, self._architecture))
            remove_runtime_provided(site)
        for copy in self._plan.copies:
            destination = site if copy == "." else site / copy
            shutil.copytree(self._plan.source / copy, destination, ignore=_IGNORED, dirs_exist_ok=True)
        if mode is BundlingMode.LOCAL_COMPILED and self.host.runtime_python:
            _run(compile_command(self.host.runtime_python, site))
        else:
            print(
                f"warning: no container engine and no python{python_version(self._runtime)} on this machine: "
                f"{self._plan.source.name} is bundled without bytecode, which costs "
                f"{COLD_START_COST_WITHOUT_BYTECODE}",
                file=sys.stderr,
            )
        return True


def _run(command: Sequence[str]) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssetBundlingError(
            f"{shlex.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}"
        )


def remove_runtime_provided(site: Path) -> None:
    """Deletes the runtime-provided SDK packages and their metadata if a dependency pulled them in."""
    for name in RUNTIME_PROVIDED:
        for path in (site / name, *site.glob(f"{name}-*.dist-info")):
            if path.is_dir():
                shutil.rmtree(path)
