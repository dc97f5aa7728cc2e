"""Asset bundling: where it runs (detection injected), the command lines, and what lands in the asset."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import BundlingOptions
from aws_cdk import aws_lambda as lambda_

from infra.constructs import build_host, python_bundling
from infra.constructs.build_host import BuildHost, BundlingMode
from infra.constructs.python_bundling import (
    AssetPlan,
    PythonAssetBundling,
    compile_command,
    container_command,
    pip_command,
    pip_platform,
    remove_runtime_provided,
)

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARM = lambda_.Architecture.ARM_64
OPTIONS = BundlingOptions(image=RUNTIME.bundling_image)
NOTHING = BuildHost(container_engine=None, runtime_python=None)


@pytest.mark.parametrize(
    ("host", "mode"),
    [
        (BuildHost(container_engine="docker", runtime_python="/usr/bin/python3.13"), BundlingMode.CONTAINER),
        (BuildHost(container_engine="docker", runtime_python=None), BundlingMode.CONTAINER),
        (BuildHost(container_engine=None, runtime_python="/usr/bin/python3.13"), BundlingMode.LOCAL_COMPILED),
        (NOTHING, BundlingMode.LOCAL_SOURCE_ONLY),
    ],
)
def test_the_mode_follows_what_the_host_has(host: BuildHost, mode: BundlingMode) -> None:
    assert host.mode() is mode


def test_a_tool_that_does_not_answer_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a docker client whose daemon is down and a version-manager shim that has no python3.13
    monkeypatch.setattr(build_host.shutil, "which", lambda name: f"/usr/bin/{name}")

    def fails(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "not available")

    monkeypatch.setattr(build_host.subprocess, "run", fails)
    assert BuildHost.detect(RUNTIME) == NOTHING


def test_an_interpreter_of_another_version_is_not_the_runtimes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_host.shutil, "which", lambda name: None if name == "docker" else "/bin/py")
    answered: list[list[str]] = []

    def answers(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        answered.append(command)
        return subprocess.CompletedProcess(command, 0, "3.12\n", "")

    monkeypatch.setattr(build_host.subprocess, "run", answers)
    assert BuildHost.detect(RUNTIME).runtime_python is None
    assert answered[0][0] == "/bin/py"
    monkeypatch.setattr(
        build_host.subprocess,
        "run",
        lambda command, **_: subprocess.CompletedProcess(command, 0, "3.13\n", ""),
    )
    assert BuildHost.detect(RUNTIME) == BuildHost(container_engine=None, runtime_python="/bin/py")


def test_pip_installs_binary_wheels_for_the_lambda_platform(tmp_path: Path) -> None:
    command = pip_command("python3", tmp_path / "requirements.txt", tmp_path / "python", RUNTIME, ARM)
    joined = shlex.join(command)
    assert command[:4] == ["python3", "-m", "pip", "install"]
    assert "--platform manylinux2014_aarch64" in joined
    assert "--only-binary=:all:" in command
    assert "--python-version 3.13" in joined
    assert f"--target {tmp_path / 'python'}" in joined
    assert "--no-compile" in command  # bytecode comes from the runtime's interpreter, never pip's
    assert pip_platform(lambda_.Architecture.X86_64) == "manylinux2014_x86_64"


def test_bytecode_is_compiled_with_unchecked_hashes(tmp_path: Path) -> None:
    assert compile_command("/usr/bin/python3.13", tmp_path) == [
        "/usr/bin/python3.13",
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "unchecked-hash",
        str(tmp_path),
    ]


def test_the_container_command_installs_copies_and_compiles_with_the_images_python(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("orjson==3.13.0\n", encoding="utf-8")
    shell, flag, script = container_command(AssetPlan.layer(tmp_path, "pkg"), RUNTIME, ARM)
    assert (shell, flag) == ("bash", "-c")
    steps = script.split(" && ")
    assert (
        steps[1].startswith("python -m pip install")
        and "--requirement /asset-input/requirements.txt" in steps[1]
    )
    assert "--target /asset-output/python" in steps[1]
    assert "/asset-output/python/botocore-*.dist-info" in steps[2]  # left unquoted for the shell
    assert steps[3].startswith("tar -C /asset-input --exclude=__pycache__") and " pkg | tar" in steps[3]
    assert steps[-1] == "python -m compileall -q --invalidation-mode unchecked-hash /asset-output/python"


def test_a_function_asset_is_its_folder_at_the_root(tmp_path: Path) -> None:
    script = container_command(AssetPlan.function(tmp_path), RUNTIME, ARM)[2]
    assert "pip" not in script
    assert script.endswith("compileall -q --invalidation-mode unchecked-hash /asset-output")


def _layer(tmp_path: Path) -> Path:
    """A layer folder with a package, a data file and stale host bytecode, and no requirements."""
    source = tmp_path / "layer"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    (source / "pkg" / "entities").mkdir()
    (source / "pkg" / "entities" / "contacts.json").write_text("{}", encoding="utf-8")
    (source / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    (source / "pkg" / "_kernel.abi3.so").write_bytes(b"host build")
    return source


def test_with_a_container_engine_local_bundling_declines(tmp_path: Path) -> None:
    host = BuildHost(container_engine="docker", runtime_python=None)
    bundling = PythonAssetBundling(AssetPlan.layer(_layer(tmp_path), "pkg"), RUNTIME, ARM, host)
    assert bundling.try_bundle(str(tmp_path / "asset"), OPTIONS) is False
    assert not (tmp_path / "asset").exists()


def test_with_the_runtimes_interpreter_the_asset_ships_bytecode(tmp_path: Path) -> None:
    # Given this test's interpreter standing in for the runtime's
    host = BuildHost(container_engine=None, runtime_python=sys.executable)
    bundling = PythonAssetBundling(AssetPlan.layer(_layer(tmp_path), "pkg"), RUNTIME, ARM, host)

    assert bundling.try_bundle(str(tmp_path / "asset"), OPTIONS) is True

    package = tmp_path / "asset" / "python" / "pkg"
    assert (package / "__init__.py").read_text(encoding="utf-8") == "VALUE = 1\n"
    assert (package / "entities" / "contacts.json").is_file()
    assert not (package / "_kernel.abi3.so").exists()  # a host build is never shipped
    (compiled,) = (package / "__pycache__").iterdir()
    assert compiled.name == f"__init__.{sys.implementation.cache_tag}.pyc"
    flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: valid whatever the files' timestamps become


def test_without_either_the_asset_ships_source_and_says_what_it_costs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundling = PythonAssetBundling(AssetPlan.function(_layer(tmp_path) / "pkg"), RUNTIME, ARM, NOTHING)

    assert bundling.try_bundle(str(tmp_path / "asset"), OPTIONS) is True

    assert (tmp_path / "asset" / "__init__.py").is_file()
    assert not list((tmp_path / "asset").rglob("*.pyc"))
    warning = capsys.readouterr().err
    assert "without bytecode" in warning and "python3.13" in warning
    assert "400-500 ms of CPU per cold start" in warning


def test_a_failing_pip_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _layer(tmp_path)
    (source / "requirements.txt").write_text("no-such-package-anywhere==0\n", encoding="utf-8")
    monkeypatch.setattr(
        python_bundling.subprocess,
        "run",
        lambda command, **_: subprocess.CompletedProcess(command, 1, "", "no matching distribution"),
    )
    bundling = PythonAssetBundling(AssetPlan.layer(source, "pkg"), RUNTIME, ARM, NOTHING)
    with pytest.raises(python_bundling.AssetBundlingError, match="no matching distribution"):
        bundling.try_bundle(str(tmp_path / "asset"), OPTIONS)


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
