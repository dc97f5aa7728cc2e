"""Cold-start import time of each function's handler module, in a fresh interpreter.

For each function in `topology.FUNCTIONS`: the wall time of `python -c "import functions.X.handler"`
minus that of `python -c "pass"` (the interpreter's own start), median of a few runs, and the
cumulative import time `-X importtime` reports for the module. Nothing is cached between runs but
the `.pyc` files, as in a Lambda package.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

RUNS = 3


def _wall(code: str, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def import_time_us(module: str) -> int:
    """Cumulative microseconds `-X importtime` gives for `module` itself."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in reversed(proc.stderr.splitlines()):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise ValueError(f"no import time reported for {module}")


def measure() -> dict[str, Any]:
    from tenant_pipeline.topology import FUNCTIONS

    interpreter = statistics.median(_wall("pass") for _ in range(RUNS))
    results: dict[str, Any] = {}
    for function in FUNCTIONS:
        try:
            import_time_us(function.module)  # also warms the .pyc files
        except (subprocess.CalledProcessError, ValueError) as exc:
            results[function.name] = {"error": f"cannot import {function.module}: {type(exc).__name__}"}
            continue
        wall = statistics.median(_wall(f"import {function.module}") for _ in range(RUNS))
        results[function.name] = {
            "import_ms": (wall - interpreter) * 1000,
            "importtime_ms": import_time_us(function.module) / 1000,
        }
    return results
