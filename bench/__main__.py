"""`python -m bench` (`make bench`): every figure as a ratio against a baseline measured in the same run.

Quick mode by default (minutes on two cores); `BENCH_FULL=1` for the large sizes. Prints a table and
writes `bench/results.json`: each goal key as a number (null when it could not be measured), each
goal with whether it was met, and every other figure under `figures`. Exits non-zero only when a
benchmark's two sides disagree on the result (or the benchmark itself breaks), never for a missed goal.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.harness.goals import GOALS, evaluate
from bench.harness.local_aws import CREDENTIALS
from bench.harness.rss import ChildFailedError
from bench.harness.table import figures, goals_table

if TYPE_CHECKING:
    from bench.harness.local_aws import LocalAws

RESULTS_PATH = Path(__file__).with_name("results.json")


@dataclass(frozen=True)
class Sizes:
    validation_rows: int
    export_records: int
    loader_rows: int
    rss_large_bytes: int
    e2e_rows: int
    load_tenants: int
    load_rows_per_tenant: int
    telemetry_batches: int
    seed_memory_bytes: int = 150 * 2**20


QUICK = Sizes(
    validation_rows=100_000,
    export_records=3_000,
    loader_rows=20_000,
    rss_large_bytes=100 * 2**20,
    e2e_rows=10_000,
    load_tenants=4,
    load_rows_per_tenant=2_000,
    telemetry_batches=15,
)
FULL = Sizes(
    validation_rows=1_000_000,
    export_records=100_000,
    loader_rows=200_000,
    rss_large_bytes=2**30,
    e2e_rows=50_000,
    load_tenants=20,
    load_rows_per_tenant=20_000,
    telemetry_batches=50,
)


class Run:
    """Collects each section's figures, or why it could not be measured."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.mismatches: list[str] = []

    def section(self, name: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        print(f"… {name}", flush=True)
        start = time.perf_counter()
        try:
            values = measure()
        except AssertionError as exc:  # the two sides disagree: a correctness failure, not a slow figure
            self.mismatches.append(name)
            self.errors[name] = f"results differ: {exc}"
            values = {}
        except (ImportError, ChildFailedError, AttributeError, TypeError) as exc:
            self.errors[name] = f"not measured: {_first_line(exc)}"
            values = {}
        except Exception as exc:
            self.errors[name] = f"failed: {type(exc).__name__}: {_first_line(exc)}"
            traceback.print_exc()
            values = {}
        self.figures[name] = values
        status = self.errors.get(name, "ok")
        print(f"  {name}: {status} ({time.perf_counter() - start:.1f}s)", flush=True)
        return values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # A child's error carries its stderr; the last line names the exception.
    lines = [line for line in text.splitlines() if line.strip()]
    return (lines[0] + (" … " + lines[-1] if len(lines) > 1 else "")) if lines else type(exc).__name__


def _call_owned(module_name: str, *args: Any) -> dict[str, Any]:
    """Call `run` of a benchmark module another part of the product owns, with the arguments it takes."""
    module = __import__(module_name, fromlist=["run"])
    run = module.run
    wanted = len(inspect.signature(run).parameters)
    result: dict[str, Any] = run(*args[:wanted])
    return result


def main() -> int:
    full = os.environ.get("BENCH_FULL", "") not in ("", "0")
    # Every AWS endpoint here is on loopback; dummy credentials keep boto3 from looking for real ones.
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    sizes = FULL if full else QUICK
    run = Run()
    started = time.perf_counter()

    validation = run.section("validation", lambda: _call_owned("bench.validation", sizes.validation_rows))
    memory = run.section("validator_memory", lambda: _validator_memory(sizes))
    loader = run.section("loader_write", lambda: _loader(sizes))
    capacity = run.section("capacity", lambda: _capacity(validation, loader))
    telemetry_import = run.section("telemetry_import", lambda: _call_owned("bench.telemetry_import"))
    run.section("cold_start", _cold_start)
    run.section("export", lambda: _call_owned("bench.export", sizes.export_records))
    with ExitStack() as stack:
        aws = _LazyLocalAws(stack)
        telemetry = run.section("telemetry_share", lambda: _telemetry_share(aws.get(), sizes))
        e2e = run.section("import_e2e", lambda: _import_e2e(aws.get(), sizes))
        run.section("load_test", lambda: _load_test(aws.get(), sizes))
        seed_memory = run.section("seed_memory", lambda: _seed_memory(aws.get(), sizes))
    local_memory = run.section("local_memory", _local_memory)
    local_query = run.section("local_query", _local_query)

    values: dict[str, Any] = {}
    sources = (validation, memory, loader, capacity, telemetry, telemetry_import, e2e, seed_memory)
    for source in (*sources, local_memory, local_query):
        values.update({goal.key: source[goal.key] for goal in GOALS if goal.key in source})
    goals = evaluate(values)
    results = {
        "mode": "full" if full else "quick",
        "elapsed_s": time.perf_counter() - started,
        **{key: goal["value"] for key, goal in goals.items()},
        "goals": goals,
        "figures": run.figures,
        "errors": run.errors,
    }
    RESULTS_PATH.write_text(json.dumps(results, indent=2, default=str) + "\n")

    print()
    print(figures("Figures", {k: v for k, v in run.figures.items() if v}))
    if run.errors:
        print(figures("Not measured", run.errors))
    print()
    print(goals_table(goals))
    print(f"\n{results['mode']} mode, {results['elapsed_s']:.0f}s; written to {RESULTS_PATH}")
    return 1 if run.mismatches else 0


def _validator_memory(sizes: Sizes) -> dict[str, Any]:
    from bench.validator_memory import measure

    return measure(sizes.rss_large_bytes)


def _loader(sizes: Sizes) -> dict[str, Any]:
    from bench.loader_write import compare

    return compare(sizes.loader_rows)


def _capacity(validation: dict[str, Any], loader: dict[str, Any]) -> dict[str, Any]:
    from bench.capacity import run

    if not validation or not loader:
        raise ImportError("the model needs the validation and loader_write sections' unit costs")
    return run(validation, loader)


def _telemetry_share(aws: LocalAws, sizes: Sizes) -> dict[str, Any]:
    from bench.telemetry_share import measure

    return measure(sizes.telemetry_batches, aws)


def _cold_start() -> dict[str, Any]:
    from bench.cold_start import measure

    return measure()


class _LazyLocalAws:
    """The benchmarks that need the local AWS share one server process, started when first needed."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._aws: LocalAws | None = None

    def get(self) -> LocalAws:
        if self._aws is None:
            from bench.harness.local_aws import local_aws

            self._aws = self._stack.enter_context(local_aws())
        return self._aws


def _import_e2e(aws: LocalAws, sizes: Sizes) -> dict[str, Any]:
    from bench import cost, import_e2e

    compared = import_e2e.compare(aws, sizes.e2e_rows)
    ours = compared.pop("ours")
    compared["ours_requests"] = ours["requests"]["calls"]
    compared["ours_invocations"] = ours["invocations"]
    compared["cost_per_million_records_usd"] = cost.estimate(ours, sizes.e2e_rows).to_dict()
    return compared


def _seed_memory(aws: LocalAws, sizes: Sizes) -> dict[str, Any]:
    from bench.seed_memory import measure

    return measure(aws, sizes.seed_memory_bytes)


def _local_memory() -> dict[str, Any]:
    from bench.local_memory import IMPORTS, measure

    # BENCH_LOCAL_IMPORTS: a smaller count for a quick look; the figure is taken at IMPORTS.
    return measure(int(os.environ.get("BENCH_LOCAL_IMPORTS", IMPORTS)))


def _local_query() -> dict[str, Any]:
    from bench.local_query import measure

    return measure()


def _load_test(aws: LocalAws, sizes: Sizes) -> dict[str, Any]:
    from bench import import_e2e

    return import_e2e.load_test(aws, sizes.load_tenants, sizes.load_rows_per_tenant)


if __name__ == "__main__":
    sys.exit(main())
