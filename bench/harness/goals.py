"""The figures `make bench` must report, each with the goal it must reach."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Goal:
    key: str
    meaning: str
    op: str  # ">=" or "<="
    target: float

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        compare: Callable[[float, float], bool] = operator.ge if self.op == ">=" else operator.le
        return bool(compare(value, self.target))

    @property
    def text(self) -> str:
        return f"{'≥' if self.op == '>=' else '≤'} {self.target:g}"


GOALS = (
    Goal("csv_validate_vs_csv_reader", "CSV parse+validate rows/s ÷ csv.reader rows/s", ">=", 0.35),
    Goal("jsonl_validate_vs_orjson", "JSONL parse+validate rows/s ÷ orjson.loads per line", ">=", 0.25),
    Goal("validator_rss_growth_mb", "validator peak RSS, large CSV - 10 MB CSV", "<=", 50),
    Goal("loader_cpu_per_item_vs_batch_writer", "loader CPU/item ÷ Table.batch_writer CPU/item", "<=", 0.5),
    Goal("telemetry_share_of_batch_cpu", "spans + metric calls CPU ÷ 500-record batch CPU", "<=", 0.03),
    Goal(
        "telemetry_import_vs_auto_instrument",
        "our layer set-up ÷ opentelemetry-instrument path, both compiled",
        "<=",
        0.3,
    ),
    Goal("seed_importer_speedup", "our end-to-end rows/s ÷ seed-style importer rows/s", ">=", 5),
    Goal(
        "seed_memory_ratio",
        "seed read-and-validate peak RSS ÷ one validator invocation's, 150 MB CSV",
        ">=",
        20,
    ),
    Goal(
        "largest_admitted_import_gb",
        "capacity model: largest plain CSV the shipped settings admit and validate within every "
        "invocation's limits (read in legs)",
        ">=",
        50,
    ),
    Goal(
        "tenant_write_rows_per_s",
        "capacity model: sustained rows/s of one tenant's entity, shipped key design and settings",
        ">=",
        25_000,
    ),
    Goal(
        "small_tenant_wait_p99_s",
        "capacity model: a 100-row import's wait beside another tenant's 50M-row import",
        "<=",
        30,
    ),
    Goal(
        "largest_migration_items",
        "capacity model: largest tenant (items) that migrates without meeting a limit",
        ">=",
        100_000_000,
    ),
    Goal(
        "local_aws_rss_growth",
        "local AWS RSS after 2,000 small imports ÷ after the first 100",
        "<=",
        2,
    ),
    Goal(
        "local_export_beside_large_tenant",
        "local 2,000-record export beside a 500k-row tenant ÷ the same export on its own",
        "<=",
        2,
    ),
)


def evaluate(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For each goal: the measured value (None when it could not be measured), target, and whether met."""
    report = {}
    for goal in GOALS:
        raw = values.get(goal.key)
        value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        met = goal.met(value)
        report[goal.key] = {"value": value, "goal": goal.text, "met": met, "meaning": goal.meaning}
    return report
