"""The local AWS started as a user starts it (`tenantctl local up`), driven by `tenantctl` and the AWS CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
TENANTCTL = str(BIN / "tenantctl")
AWS_CLI = str(BIN / "aws")
REGION = "us-east-1"
BATCH_ROWS = 10
"""Small batches, so a sample file fans out into several batches (several spans to find in the trace)."""
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_EXPORTER_OTLP", "AWS_")) and name != "TENANT_TELEMETRY_JSONL_PATH"
    }
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION})
    return env


@dataclass
class LocalAws:
    """A running `tenantctl local up` subprocess and ways to talk to it."""

    endpoint_url: str
    state_dir: Path
    process: subprocess.Popen[str]
    extra_env: dict[str, str] = field(default_factory=dict)
    """What the user's shell adds, for `local up` and every command (an OTLP endpoint, say)."""

    def tenantctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [TENANTCTL, "--endpoint-url", self.endpoint_url, *args],
            capture_output=True,
            text=True,
            env={**_environment(), **self.extra_env},
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tenantctl {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def tenantctl_json(self, *args: str) -> Any:
        return json.loads(self.tenantctl(*args, "--json").stdout)

    def aws(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AWS_CLI, "--endpoint-url", self.endpoint_url, "--region", REGION, *args],
            capture_output=True,
            text=True,
            env=_environment(),
            timeout=60,
            check=True,
        )

    def wait_for_finished_job(
        self, tenant_id: str, entity_type: str, timeout_s: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for job in self.tenantctl_json("jobs", tenant_id):
                if job["entity_type"] == entity_type and job["status"] != "RUNNING":
                    return dict(job)
            time.sleep(0.5)
        raise AssertionError(f"no finished {entity_type} job for {tenant_id} within {timeout_s}s")


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    with running_local_aws(tmp_path_factory.mktemp("local-aws")) as aws:
        yield aws


@contextmanager
def running_local_aws(state_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[LocalAws]:
    """`tenantctl local up` on a free port, until the block ends (then stopped as Ctrl-C stops it)."""
    port = _free_port()
    extra_env = dict(extra_env or {})
    env = {**_environment(), "IMPORT_BATCH_ROWS": str(BATCH_ROWS), **extra_env}
    process = subprocess.Popen(
        [TENANTCTL, "local", "up", "--port", str(port), "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=(state_dir / "local-up.log").open("w"),
        text=True,
        env=env,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    line = ""
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        if line.startswith("ready: "):
            break
    if not line.startswith("ready: "):
        process.kill()
        raise AssertionError(
            f"tenantctl local up did not get ready: {(state_dir / 'local-up.log').read_text()}"
        )
    endpoint_url = line.removeprefix("ready: ").strip()
    try:
        yield LocalAws(endpoint_url=endpoint_url, state_dir=state_dir, process=process, extra_env=extra_env)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
