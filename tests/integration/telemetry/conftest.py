from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.telemetry.otlp_receiver import OtlpReceiver

REPO = Path(__file__).resolve().parents[3]

RunChild = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def run_child(receiver: OtlpReceiver) -> RunChild:
    """Run one invocation of a scenario of `lambda_child` in a fresh process exporting to `receiver`."""

    def run(
        scenario: str, event: Any, *, function: str, sigkill: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_", "TENANT_TELEMETRY_"))
        }
        env.update(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant-pipelines=test",
                # No timer exports during the invocation: only the flush before return can send.
                "OTEL_BSP_SCHEDULE_DELAY": "600000",
                "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": function,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "PYTHONPATH": os.pathsep.join(
                    [str(REPO), str(REPO / "layers" / "telemetry"), env.get("PYTHONPATH", "")]
                ),
            }
        )
        argv = [sys.executable, "-m", "tests.integration.telemetry.lambda_child", scenario]
        return subprocess.run(
            [*argv, "--sigkill"] if sigkill else argv,
            input=json.dumps(event),
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=60,
            check=False,
        )

    return run
