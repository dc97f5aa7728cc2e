"""`tenantctl local env` points any AWS client at a running `local up`; `tenantctl local down` stops it."""

from __future__ import annotations

import shlex
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import AWS_CLI, START_TIMEOUT_S, TENANTCTL, _environment, _free_port

pytestmark = pytest.mark.e2e


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_env_lines_work_for_the_aws_cli_and_down_stops_the_server(tmp_path: Path) -> None:
    # Given a local AWS started as a user starts it, on a port of its own
    state_dir, port = tmp_path / "state", _free_port()
    bare = {k: v for k, v in _environment().items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [TENANTCTL, "local", "up", "--port", str(port), "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=bare,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and not process.stdout.readline().startswith("ready: "):
            assert process.poll() is None, "tenantctl local up exited early"
        # When the user evaluates `tenantctl local env`
        printed = _run([TENANTCTL, "local", "env", "--state-dir", str(state_dir)], bare)
        assert printed.returncode == 0
        exported = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in printed.stdout.splitlines()
        )
        assert exported["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        assert {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(
            exported
        )
        client_env = {**bare, **exported}
        # Then the AWS CLI and tenantctl reach it with no endpoint option and no configured credentials
        listing = _run([AWS_CLI, "s3", "ls"], client_env)
        assert listing.returncode == 0, listing.stderr
        assert "tenant-pipelines-ingest-bucket-us-east-1" in listing.stdout
        assert _run([TENANTCTL, "tenants", "create", "envtest"], client_env).returncode == 0
        # And `local down` stops it and waits for it to exit
        down = _run([TENANTCTL, "local", "down", "--state-dir", str(state_dir)], bare)
        assert down.returncode == 0, down.stderr
        assert f"stopped the local AWS at http://127.0.0.1:{port}" in down.stdout
        assert process.wait(timeout=10) == 0
        assert not (state_dir / "local-up.json").exists()
        # A second `down` says plainly that nothing runs
        again = _run([TENANTCTL, "local", "down", "--state-dir", str(state_dir)], bare)
        assert again.returncode == 1 and again.stderr.count("\n") == 1
        assert "no local AWS was started from" in again.stderr
    finally:
        if process.poll() is None:
            process.kill()
