"""The measuring pieces of the benchmarks: peak RSS of a child, request counts, goals, cost, data."""

from __future__ import annotations

import pytest

from bench import cost
from bench.harness import datasets
from bench.harness.goals import GOALS, evaluate
from bench.harness.requests import RequestTally
from bench.harness.rss import ChildFailedError, run_in_child
from bench.seed_importer import check_row

_MB = 2**20


def hold_megabytes(megabytes: int) -> int:
    """Child target: touch `megabytes` MiB so it is resident, and return its size."""
    block = bytearray(megabytes * _MB)
    for offset in range(0, len(block), 4096):
        block[offset] = 1
    return len(block)


def divide(a: int, b: int) -> float:
    """Child target that raises when `b` is zero."""
    return a / b


def test_child_peak_rss_sees_a_50_mb_allocation() -> None:
    small = run_in_child("tests.unit.bench.test_measures:hold_megabytes", {"megabytes": 0})
    large = run_in_child("tests.unit.bench.test_measures:hold_megabytes", {"megabytes": 50})
    assert large.value == 50 * _MB
    assert large.peak_rss_mb - small.peak_rss_mb >= 45


def test_a_failing_child_is_reported() -> None:
    with pytest.raises(ChildFailedError, match="ZeroDivisionError"):
        run_in_child("tests.unit.bench.test_measures:divide", {"a": 1, "b": 0})


def test_goals_are_judged_in_their_direction() -> None:
    report = evaluate({"csv_validate_vs_csv_reader": 0.7, "validator_rss_growth_mb": 80.0})
    assert report["csv_validate_vs_csv_reader"]["met"] is True
    assert report["validator_rss_growth_mb"]["met"] is False
    assert report["seed_importer_speedup"] == {
        "value": None,
        "goal": "≥ 5",
        "met": None,
        "meaning": next(g.meaning for g in GOALS if g.key == "seed_importer_speedup"),
    }


def test_sqs_requests_are_billed_per_64_kb_chunk() -> None:
    tally = RequestTally()
    entries = [{"Id": str(i), "MessageBody": "x" * 40_000} for i in range(10)]
    tally.record("sqs", "SendMessageBatch", {"Entries": entries}, {}, "function")
    tally.record("sqs", "ReceiveMessage", {}, {"Messages": []}, "event_source")
    tally.record("dynamodb", "BatchWriteItem", {"RequestItems": {"t": [{}] * 25}}, {}, "function")
    tally.record("dynamodb", "TransactWriteItems", {"TransactItems": [{}, {}]}, {}, "function")
    assert tally.sqs_billed_requests == 7  # 400,000 bytes = 6.1 chunks; the idle poll bills nothing here
    assert tally.dynamodb_write_units == 29


def test_cost_estimate_scales_to_a_million_records() -> None:
    run = {
        "function_cpu_s": {"import_validate": 1.0, "import_load": 1.0},
        "invocations": {"import_validate": 1, "import_load": 9},
        "requests": {
            "sqs_billed_requests": 100,
            "dynamodb_write_units": 10_000,
            "dynamodb_read_calls": 0,
            "s3_put_class": 0,
            "s3_get_class": 0,
        },
    }
    estimate = cost.estimate(run, records=10_000)
    assert estimate.dynamodb == pytest.approx(100 * 10_000 * cost.DYNAMODB_WRITE_UNIT_USD)
    assert estimate.lambda_requests == pytest.approx(100 * 10 * cost.LAMBDA_REQUEST_USD)
    assert estimate.to_dict()["dominant"] == "dynamodb"


def test_generated_invalid_rows_are_exactly_those_the_seed_checks_reject() -> None:
    rejected = [index for index, row in enumerate(datasets.rows(500)) if check_row(row)]
    assert rejected == [index for index in range(500) if datasets.is_invalid(index)]
    assert datasets.expected_counts(500) == (490, 10)
