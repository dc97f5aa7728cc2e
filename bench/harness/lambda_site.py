"""A site laid out as a Lambda function sees it: the layers' pinned requirements and packages, plus what the
runtime ships (boto3), installed once into `bench/.data/` with pip the way the assets are (`--no-compile`).

A child interpreter runs with `-I -S -B` and only this site on its path beside the standard library, so an
import costs what it costs in Lambda: with bytecode (`compile_site`, as the assets ship it) or without
(`strip_bytecode`: every module compiled at every cold start).
"""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import py_compile
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "bench" / ".data"
LAYERS = ("telemetry", "pipeline")
PIP_INSTALL = (
    sys.executable,
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
    "--no-compile",
)
PACKAGES = {
    "tenant_telemetry": ROOT / "layers" / "telemetry" / "tenant_telemetry",
    "tenant_pipeline": ROOT / "layers" / "pipeline" / "tenant_pipeline",
    "functions": ROOT / "functions",
}


def layer_requirements() -> list[str]:
    pinned: list[str] = []
    for layer in LAYERS:
        lines = (ROOT / "layers" / layer / "requirements.txt").read_text().splitlines()
        pinned += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    runtime = [f"{name}=={importlib.metadata.version(name)}" for name in ("boto3", "botocore")]
    return sorted(set(pinned)) + runtime


def build_site(name: str, requirements: Sequence[str], packages: dict[str, Path]) -> Path:
    """The site, reinstalled when the requirements change; our packages are copied fresh every run."""
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    folder = DATA / name
    site = folder / f"site-{digest}"
    for stale in folder.glob("site-*"):
        if stale != site:
            shutil.rmtree(stale, ignore_errors=True)
    if not (site / ".complete").exists():
        shutil.rmtree(site, ignore_errors=True)
        subprocess.run(
            [*PIP_INSTALL, "--target", str(site), *requirements],
            check=True,
            capture_output=True,
        )
        (site / ".complete").touch()
    for package, source in packages.items():
        shutil.rmtree(site / package, ignore_errors=True)
        shutil.copytree(source, site / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return site


def strip_bytecode(site: Path) -> None:
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def compile_site(site: Path) -> None:
    """Bytecode as the bundling writes it (`compileall --invalidation-mode unchecked-hash`)."""
    compileall.compile_dir(
        str(site), quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )


def child_cpu_s(site: Path, code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of `code` in a fresh interpreter that sees only `site` and the standard library;
    timed inside the child from its first line, and ended without teardown (`os._exit`)."""
    program = (
        f"import os, sys, time\nsys.path[:0] = [{str(site)!r}]\n"
        "wall, cpu = time.perf_counter(), time.process_time()\n"
        f"{code}\n"
        "print(time.perf_counter() - wall, time.process_time() - cpu, flush=True)\nos._exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed: {done.stderr.strip()[-500:]}")
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)
