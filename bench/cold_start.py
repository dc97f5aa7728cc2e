"""Cold-start import of each function's handler module, in a fresh interpreter, with and without bytecode.

Each function's module (`functions.<name>.handler`, which also sets telemetry up with an OTLP endpoint, as
deployed) is imported in a child that sees only a Lambda-like site (`harness.lambda_site`: both layers'
pinned requirements, the packages, boto3). CPU milliseconds, median of `RUNS`, the two modes measured on the
same site: source only (what an asset built without a runtime interpreter ships) and compiled with
`--invalidation-mode unchecked-hash` (what the bundling ships). Printed, never asserted.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench.harness.lambda_site import (
    PACKAGES,
    build_site,
    child_cpu_s,
    compile_site,
    layer_requirements,
    strip_bytecode,
)

RUNS = 5
ENV = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",  # nothing is sent while importing
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}


def _median_cpu_ms(site: Any, module: str, env: dict[str, str]) -> float:
    child_cpu_s(site, f"import {module}", env)  # warm-up: file system caches
    return statistics.median(child_cpu_s(site, f"import {module}", env)[1] for _ in range(RUNS)) * 1000


def measure() -> dict[str, Any]:
    from tenant_pipeline.topology import FUNCTIONS

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_", "PYTHON"))}
    env.update(ENV)
    site = build_site("cold_start", layer_requirements(), PACKAGES)
    results: dict[str, Any] = {}
    try:
        strip_bytecode(site)
        source_only = {f.name: _median_cpu_ms(site, f.module, env) for f in FUNCTIONS}
        compile_site(site)
        compiled = {f.name: _median_cpu_ms(site, f.module, env) for f in FUNCTIONS}
    finally:
        strip_bytecode(site)
    for function in FUNCTIONS:
        results[function.name] = {
            "no_bytecode_cpu_ms": source_only[function.name],
            "bytecode_cpu_ms": compiled[function.name],
            "bytecode_saves_ms": source_only[function.name] - compiled[function.name],
        }
    results["runs"] = RUNS
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
