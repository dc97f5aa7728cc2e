"""`telemetry_import_vs_auto_instrument`: this layer's cold-start set-up ÷ `opentelemetry-instrument`'s.

Both sides start a fresh interpreter over the same minimal site, built once into `bench/.data/` with pip the
way the layer asset is (`--no-compile`): the telemetry layer's pinned requirements and `tenant_telemetry`,
plus, for the auto path, `opentelemetry-distro` and the aws-lambda and botocore instrumentations (the
`bench` extra's pins), plus botocore as the Lambda runtime has it. The interpreter runs with `-I -S`, so
nothing else of the virtualenv is seen: entry-point discovery walks that site only, as it would in Lambda.

- ours: `import tenant_telemetry`, decorate the handler (which calls `configure()`, OTLP endpoint set);
- auto: what `opentelemetry-instrument`'s sitecustomize runs, `initialize()`: the distro's configuration,
  then every instrumentor found through entry points, the aws-lambda one wrapping the handler of `_HANDLER`.

Each side times itself from its first line to the end of its set-up (wall and CPU, median of `RUNS`,
the sides interleaved), in two modes: compiled (bytecode written as the bundling writes it,
`--invalidation-mode unchecked-hash`: what the layer ships) and source only (what an asset built without an
interpreter of the runtime's Python ships). The goal figure is the compiled CPU ratio; the source-only one is
printed beside it. CPU time compares the work done on a shared machine, where wall time also counts waiting
for a core.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import statistics
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from bench.harness.lambda_site import PIP_INSTALL, child_cpu_s, compile_site, strip_bytecode

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data" / "telemetry_import"
RUNS = 7
HANDLER_MODULE = "bench_handler"

_OURS = (
    "import tenant_telemetry\n"
    f"import {HANDLER_MODULE}\n"
    f"tenant_telemetry.instrument_handler({HANDLER_MODULE}.handler)\n"
)
SIDES = {
    "ours": _OURS,
    "ours_local_mode": _OURS,
    "auto_instrument": (
        "from opentelemetry.instrumentation.auto_instrumentation import initialize\n"
        "initialize()\n"
        f"import {HANDLER_MODULE}\n"
        f"assert hasattr({HANDLER_MODULE}.handler, '__wrapped__'), 'the handler was not wrapped'\n"
        "assert 'botocore' in sys.modules, 'botocore instrumentation did not load'\n"
    ),
}
# The local mode: no endpoint, so no OTLP exporter (and no `requests`) is imported; the SDK's own floor.
SIDE_ENV = {"ours_local_mode": {"OTEL_EXPORTER_OTLP_ENDPOINT": ""}}
ENV = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",  # nothing is sent during set-up
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_SERVICE_NAME": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "_HANDLER": f"{HANDLER_MODULE}.handler",
}


def requirements() -> list[str]:
    layer = (ROOT / "layers" / "telemetry" / "requirements.txt").read_text().splitlines()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    auto = pyproject["project"]["optional-dependencies"]["bench"]
    pinned = [line.strip() for line in layer if line.strip() and not line.startswith("#")]
    return [*pinned, *auto, f"botocore=={importlib.metadata.version('botocore')}"]


def build_site() -> Path:
    """The minimal site, rebuilt when the requirements change; the package is copied fresh every run."""
    wanted = requirements()
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]
    site = DATA / f"site-{digest}"
    for stale in DATA.glob("site-*"):
        if stale != site:
            shutil.rmtree(stale, ignore_errors=True)
    if not (site / ".complete").exists():
        shutil.rmtree(site, ignore_errors=True)
        subprocess.run([*PIP_INSTALL, "--target", str(site), *wanted], check=True, capture_output=True)
        (site / ".complete").touch()
    shutil.rmtree(site / "tenant_telemetry", ignore_errors=True)
    shutil.copytree(
        ROOT / "layers" / "telemetry" / "tenant_telemetry",
        site / "tenant_telemetry",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (site / f"{HANDLER_MODULE}.py").write_text("def handler(event, context):\n    return None\n")
    return site


def _set_up_s(site: Path, side: str) -> tuple[float, float]:
    """Wall and CPU seconds of one side's set-up, measured inside a fresh interpreter.

    `-I -S`: no environment `PYTHON*` variables, no site-packages but the bench site; `-B`: no bytecode
    written, so the as-shipped runs compile every module every time, as a cold start from a layer does.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_"))}
    env.update(ENV)
    env.update(SIDE_ENV.get(side, {}))
    return child_cpu_s(site, SIDES[side], env)


def _measure(site: Path) -> dict[str, dict[str, float]]:
    """Median wall and CPU milliseconds of each side's set-up, runs interleaved."""
    samples: dict[str, list[tuple[float, float]]] = {side: [] for side in SIDES}
    for side in SIDES:
        _set_up_s(site, side)  # one warm-up each: file system caches, the same for every side
    for _ in range(RUNS):
        for side in SIDES:
            samples[side].append(_set_up_s(site, side))
    return {
        side: {
            "wall_ms": statistics.median(wall for wall, _ in values) * 1000,
            "cpu_ms": statistics.median(cpu for _, cpu in values) * 1000,
        }
        for side, values in samples.items()
    }


def run() -> dict[str, Any]:
    site = build_site()
    strip_bytecode(site)
    source_only = _measure(site)
    compile_site(site)
    compiled = _measure(site)
    strip_bytecode(site)
    return {
        "telemetry_import_vs_auto_instrument": _ratio(compiled, "cpu_ms"),
        "compiled": {**_sides(compiled), "wall_ratio": _ratio(compiled, "wall_ms")},
        "no_bytecode": {
            **_sides(source_only),
            "cpu_ratio": _ratio(source_only, "cpu_ms"),
            "wall_ratio": _ratio(source_only, "wall_ms"),
        },
        "runs": RUNS,
    }


def _ratio(measured: dict[str, dict[str, float]], key: str) -> float:
    return measured["ours"][key] / measured["auto_instrument"][key]


def _sides(measured: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{side}_{key}": value for side, values in measured.items() for key, value in values.items()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
