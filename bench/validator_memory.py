"""`validator_rss_growth_mb`: does the validator's memory stay flat as the file grows?

Peak RSS of a child process that streams a large CSV through `validate_stream` (every row consumed,
counted), minus the peak of the same child on a 10 MB CSV. Both files come from the same generator,
so rows differ only in number. The counts of valid and invalid rows are checked against the file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.harness import datasets
from bench.harness.rss import run_in_child

SMALL_BYTES = 10 * 2**20


class CountMismatchError(AssertionError):
    """The validator's counts differ from what the generated file holds."""


def run_validator(path: str) -> dict[str, int]:
    """Child: validate a contacts CSV from disk, keeping nothing but counts."""
    from tenant_pipeline.entities import load_entity
    from tenant_pipeline.formats import FileFormat, ReadLimits
    from tenant_pipeline.validation import ValidRow, validate_stream

    valid = invalid = 0
    entity, fmt = load_entity("contacts"), FileFormat.from_key(path)
    with open(path, "rb") as stream:
        for outcome in validate_stream(stream, fmt, entity, ReadLimits()):
            if isinstance(outcome, ValidRow):
                valid += 1
            else:
                invalid += 1
    return {"valid": valid, "invalid": invalid}


def _peak(path: Path, rows: int) -> float:
    child = run_in_child("bench.validator_memory:run_validator", {"path": str(path)})
    expected = datasets.expected_counts(rows)
    if (child.value["valid"], child.value["invalid"]) != expected:
        raise CountMismatchError(f"{path.name}: validator counted {child.value}, the file has {expected}")
    return child.peak_rss_mb


def measure(large_bytes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        small, small_rows = datasets.csv_of_size(Path(tmp) / "small.csv", SMALL_BYTES)
        small_peak = _peak(small, small_rows)
        small.unlink()
        large, large_rows = datasets.csv_of_size(Path(tmp) / "large.csv", large_bytes)
        large_mb = large.stat().st_size / 2**20
        large_peak = _peak(large, large_rows)
    return {
        "small_file_mb": SMALL_BYTES / 2**20,
        "large_file_mb": large_mb,
        "large_rows": large_rows,
        "small_peak_rss_mb": small_peak,
        "large_peak_rss_mb": large_peak,
        "validator_rss_growth_mb": large_peak - small_peak,
    }
