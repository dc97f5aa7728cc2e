"""The local AWS for end-to-end benchmarks, in its own process.

`tenantctl`'s embedded server (moto) runs in a child process so the importer being measured (ours or
the seed-style one) is another process: its peak RSS and CPU are its own, not moto's storage of the
file and the items. Each run starts from a reset, re-provisioned server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class LocalAws:
    """A running local AWS: its endpoint and, after `provision()`, the environment of our functions."""

    endpoint_url: str
    function_env: dict[str, str]
    queue_arns: dict[str, str]

    def reset(self) -> None:
        """Forget every resource and object (moto's reset), then create the resources again."""
        request = urllib.request.Request(self.endpoint_url + "/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        self.provision()

    def provision(self) -> None:
        from tenantctl.local.provision import provision_region

        created = provision_region(self.endpoint_url, REGION)
        self.function_env = created.env()
        self.queue_arns = {resource.value: arn for resource, arn in created.queue_arns.items()}

    def client(self, service: str) -> Any:
        from tenantctl.local.clients import local_client

        return local_client(service, REGION, self.endpoint_url)

    def child_env(self) -> dict[str, str]:
        """Environment for a child process that talks to this local AWS."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "BENCH_LOCAL_AWS": json.dumps({"env": self.function_env, "queue_arns": self.queue_arns}),
        }


@contextmanager
def local_aws() -> Iterator[LocalAws]:
    """Start the server process on a free port, provision it, and stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.harness.local_aws"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **CREDENTIALS},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ENDPOINT "):
            raise RuntimeError(f"local AWS did not start: {line!r}")
        aws = LocalAws(endpoint_url=line.split()[1], function_env={}, queue_arns={})
        aws.provision()
        yield aws
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def serve() -> None:
    from tenantctl.local.server import LocalServer

    server = LocalServer(port=0)
    print(f"ENDPOINT {server.start()}", flush=True)
    stop = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    while not stop:
        time.sleep(0.2)
    server.stop()


if __name__ == "__main__":
    serve()
