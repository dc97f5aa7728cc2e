"""Peak resident memory, read from the kernel, for work run in a child process.

A child process starts from a clean high-water mark, so its peak measures the work alone and not
whatever the benchmark runner allocated before.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_KIB = 1024
_MIB = 1024 * 1024
_RESULT_MARK = "BENCH-CHILD-RESULT "


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM; ru_maxrss where /proc is missing)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * _KIB / _MIB
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / _MIB if sys.platform == "darwin" else maxrss * _KIB / _MIB


class ChildFailedError(RuntimeError):
    """A benchmark child process exited non-zero or printed no result."""


@dataclass(frozen=True)
class ChildResult:
    """What a child returned, its peak RSS, and the kernel's view of its peak and CPU."""

    value: Any
    peak_rss_mb: float
    cpu_s: float


def run_in_child(
    target: str,
    args: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 1800,
) -> ChildResult:
    """Run `module:function(**args)` in a fresh interpreter and return its JSON-safe result.

    The child reports its own VmHWM after the call. The parent's `RUSAGE_CHILDREN` is a maximum over
    every child ever waited for, so it cannot separate one child from another; the child's own
    high-water mark can.
    """
    child_env = {**os.environ, **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.harness.child", target, json.dumps(args or {})],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=timeout_s,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise ChildFailedError(f"{target} exited {proc.returncode}:\n{tail}")
    payload = json.loads(lines[-1][len(_RESULT_MARK) :])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return ChildResult(value=payload["value"], peak_rss_mb=payload["peak_rss_mb"], cpu_s=cpu)


def result_line(value: Any) -> str:
    """The line a child prints so the parent can find its result among any other output."""
    return _RESULT_MARK + json.dumps({"value": value, "peak_rss_mb": peak_rss_mb()}, default=str)
