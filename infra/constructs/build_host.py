"""What this machine can build a Lambda asset with: a container engine, or an interpreter of the runtime's
Python. Detected by asking each tool to answer, not by its presence on PATH: a `docker` client without a
daemon, or a version-manager shim without that version installed, builds nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from enum import Enum

from aws_cdk import aws_lambda as lambda_

_PROBE_TIMEOUT_S = 20


class BundlingMode(Enum):
    CONTAINER = "container"
    """CDK's standard bundling image of the runtime: its pip and its Python compile the asset."""
    LOCAL_COMPILED = "local-compiled"
    """pip here, and the local interpreter of the runtime's version compiles the bytecode."""
    LOCAL_SOURCE_ONLY = "local-source-only"
    """pip here, no bytecode: every cold start compiles the modules it imports."""


@dataclass(frozen=True)
class BuildHost:
    container_engine: str | None
    """The engine's command (`docker`, or what `CDK_DOCKER` names) when its daemon answers."""
    runtime_python: str | None
    """An interpreter of the functions' Python version, when one runs here."""

    @classmethod
    def detect(cls, runtime: lambda_.Runtime) -> BuildHost:
        return cls(
            container_engine=_answering_engine(os.environ.get("CDK_DOCKER") or "docker"),
            runtime_python=_interpreter_of(python_version(runtime)),
        )

    def mode(self) -> BundlingMode:
        if self.container_engine:
            return BundlingMode.CONTAINER
        if self.runtime_python:
            return BundlingMode.LOCAL_COMPILED
        return BundlingMode.LOCAL_SOURCE_ONLY


def python_version(runtime: lambda_.Runtime) -> str:
    """`python3.13` -> `3.13`, the interpreter version the wheels and the bytecode must be built for."""
    return runtime.name.removeprefix("python")


def _answers(command: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result if result.returncode == 0 else None


def _answering_engine(engine: str) -> str | None:
    if shutil.which(engine) is None:
        return None
    return engine if _answers([engine, "info", "--format", "{{.ServerVersion}}"]) else None


def _interpreter_of(version: str) -> str | None:
    path = shutil.which(f"python{version}")
    if path is None:
        return None
    answer = _answers([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
    return path if answer is not None and answer.stdout.strip() == version else None
