"""Local layer bundling: wheels for the functions' platform, the package under `python/`, no SDK copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import BundlingOptions
from aws_cdk import aws_lambda as lambda_

from infra.constructs import layer_bundling
from infra.constructs.layer_bundling import (
    PythonLayerBundling,
    c_compiler,
    pip_command,
    pip_platform,
    python_version,
    remove_runtime_provided,
)


def test_pip_installs_binary_wheels_for_the_lambda_platform(tmp_path: Path) -> None:
    command = pip_command(
        tmp_path / "requirements.txt",
        tmp_path / "python",
        lambda_.Runtime.PYTHON_3_13,
        lambda_.Architecture.ARM_64,
    )
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--only-binary=:all:" in command
    assert "--python-version 3.13" in joined
    assert f"--target {tmp_path / 'python'}" in joined
    assert f"--requirement {tmp_path / 'requirements.txt'}" in joined
    assert "--no-compile" in command  # bytecode of the build host's Python would be useless on Lambda


def test_platform_follows_the_architecture() -> None:
    assert pip_platform(lambda_.Architecture.ARM_64) == "manylinux2014_aarch64"
    assert pip_platform(lambda_.Architecture.X86_64) == "manylinux2014_x86_64"
    assert python_version(lambda_.Runtime.PYTHON_3_13) == "3.13"


def test_package_is_copied_under_python_without_bytecode(tmp_path: Path) -> None:
    # Given a layer folder with a package (and stale bytecode) but no requirements
    source = tmp_path / "layer"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    (source / "pkg" / "entities").mkdir()
    (source / "pkg" / "entities" / "contacts.json").write_text("{}", encoding="utf-8")
    (source / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    output = tmp_path / "asset"
    bundling = PythonLayerBundling(source, "pkg", lambda_.Runtime.PYTHON_3_13, lambda_.Architecture.ARM_64)

    # When it is bundled
    bundled = bundling.try_bundle(
        str(output), BundlingOptions(image=lambda_.Runtime.PYTHON_3_13.bundling_image)
    )

    # Then the asset holds the package (data files included) under python/, and Docker is not needed
    assert bundled is True
    assert (output / "python" / "pkg" / "__init__.py").read_text(encoding="utf-8") == "VALUE = 1\n"
    assert (output / "python" / "pkg" / "entities" / "contacts.json").is_file()
    assert not (output / "python" / "pkg" / "__pycache__").exists()


def test_runtime_provided_sdk_is_removed(tmp_path: Path) -> None:
    for name in (
        "boto3",
        "botocore",
        "s3transfer",
        "boto3-1.40.0.dist-info",
        "botocore-1.40.0.dist-info",
        "opentelemetry",
        "orjson",
    ):
        (tmp_path / name).mkdir()
    remove_runtime_provided(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opentelemetry", "orjson"]


def _layer_with_extension(tmp_path: Path) -> Path:
    """A layer folder whose package holds a host build of an extension, and a native build script that
    records how it was called."""
    source = tmp_path / "layer"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (source / "pkg" / "_kernel.abi3.so").write_bytes(b"host build")
    (source / "native").mkdir()
    (source / "native" / "build.py").write_text(
        "import sys, pathlib\n"
        "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
        "pathlib.Path(args['--site'], 'pkg', '_kernel.abi3.so').write_text('built with ' + args['--cc'])\n",
        encoding="utf-8",
    )
    return source


def test_the_extension_is_cross_compiled_not_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _layer_with_extension(tmp_path)
    monkeypatch.setattr(layer_bundling.shutil, "which", lambda name: f"/usr/bin/{name}")
    bundling = PythonLayerBundling(source, "pkg", lambda_.Runtime.PYTHON_3_13, lambda_.Architecture.ARM_64)

    bundling.try_bundle(
        str(tmp_path / "asset"), BundlingOptions(image=lambda_.Runtime.PYTHON_3_13.bundling_image)
    )

    module = tmp_path / "asset" / "python" / "pkg" / "_kernel.abi3.so"
    assert module.read_text(encoding="utf-8") == "built with aarch64-linux-gnu-gcc"
    assert c_compiler(lambda_.Architecture.X86_64) == "x86_64-linux-gnu-gcc"


def test_without_the_cross_compiler_the_layer_ships_pure_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _layer_with_extension(tmp_path)
    monkeypatch.setattr(layer_bundling.shutil, "which", lambda name: None)
    bundling = PythonLayerBundling(source, "pkg", lambda_.Runtime.PYTHON_3_13, lambda_.Architecture.ARM_64)

    bundling.try_bundle(
        str(tmp_path / "asset"), BundlingOptions(image=lambda_.Runtime.PYTHON_3_13.bundling_image)
    )

    assert not (tmp_path / "asset" / "python" / "pkg" / "_kernel.abi3.so").exists()  # never the host build
    assert "aarch64-linux-gnu-gcc not found" in capsys.readouterr().err
