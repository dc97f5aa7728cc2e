"""Builds a Python layer asset on the host: pinned wheels for the Lambda platform, then the package.

No Docker: pip downloads wheels for the functions' platform and Python version (`--only-binary`, so
nothing is compiled for the wrong machine), and the package folder is copied next to them under
`python/`, where the Lambda runtime looks for layer code. A layer folder with `native/build.py` has a
C extension: it is compiled for the functions' architecture with the matching cross compiler (Debian's
`gcc-aarch64-linux-gnu` for arm64); host builds of it are never copied. Without that compiler the layer
ships without the extension, and a warning says so: the code falls back to its pure-Python path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
"""The Lambda runtime ships these; a layer copy would only add cold-start bytes and version skew."""

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.so")
"""Bytecode and extensions built for this host are useless, or wrong, on Lambda."""


class LayerBundlingError(RuntimeError):
    """pip could not install the layer's requirements for the target platform."""


def pip_platform(architecture: lambda_.Architecture) -> str:
    """The manylinux tag of wheels that run on the functions' architecture."""
    machine = "aarch64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return f"manylinux2014_{machine}"


def c_compiler(architecture: lambda_.Architecture) -> str:
    """The GNU cross compiler for the functions' architecture (Debian's package names)."""
    machine = "aarch64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    return f"{machine}-linux-gnu-gcc"


def python_version(runtime: lambda_.Runtime) -> str:
    """`python3.13` -> `3.13`, the interpreter version the wheels must be built for."""
    return runtime.name.removeprefix("python")


def pip_command(
    requirements: Path, target: Path, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> list[str]:
    """The pip invocation that installs `requirements` for the Lambda platform into `target`."""
    return [
        sys.executable,
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


@jsii.implements(ILocalBundling)
class PythonLayerBundling:
    """Local bundling of `source/<package>` plus `source/requirements.txt` into `<asset>/python/`."""

    def __init__(
        self, source: Path, package: str, runtime: lambda_.Runtime, architecture: lambda_.Architecture
    ) -> None:
        self._source = source
        self._package = package
        self._runtime = runtime
        self._architecture = architecture

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        """Called by the CDK (with the asset's bundling options) before Docker bundling; returning True means
        Docker is never needed."""
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        requirements = self._source / "requirements.txt"
        if requirements.is_file():
            command = pip_command(requirements, target, self._runtime, self._architecture)
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise LayerBundlingError(
                    f"pip failed for {requirements}: {result.stderr.strip() or result.stdout.strip()}"
                )
            remove_runtime_provided(target)
        shutil.copytree(
            self._source / self._package, target / self._package, ignore=_IGNORED, dirs_exist_ok=True
        )
        build_script = self._source / "native" / "build.py"
        if build_script.is_file():
            self._build_extension(build_script, target)
        return True

    def _build_extension(self, build_script: Path, target: Path) -> None:
        """Cross-compile the layer's C extension into its package folder, or warn that it is left out."""
        compiler = c_compiler(self._architecture)
        if shutil.which(compiler) is None:
            print(
                f"warning: {compiler} not found; the {self._package} layer ships without its C extension "
                f"and runs its pure-Python path (install gcc-{compiler.removesuffix('-gcc')})",
                file=sys.stderr,
            )
            return
        command = [sys.executable, str(build_script), "--cc", compiler, "--site", str(target)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LayerBundlingError(
                f"{build_script} failed: {result.stderr.strip() or result.stdout.strip()}"
            )


def remove_runtime_provided(site: Path) -> None:
    """Deletes the runtime-provided SDK packages and their metadata if a dependency pulled them in."""
    for name in RUNTIME_PROVIDED:
        for path in (site / name, *site.glob(f"{name}-*.dist-info")):
            if path.is_dir():
                shutil.rmtree(path)
