"""Parse + validate throughput of the streaming validator against the bare parsers.

Measures, on one generated contacts file per format (same bytes for both sides):

* `csv_validate_vs_csv_reader`: rows/s of `validate_batches` (what the validate job runs: every
  row parsed, validated, duplicates checked, valid rows built as tuples ready to spool) over the
  CSV ÷ rows/s of a bare `csv.reader` over the same file opened as UTF-8 text (the floor:
  parsing only);
* `jsonl_validate_vs_orjson`: the same for the JSON Lines file ÷ rows/s of `orjson.loads`
  applied to each line of the same file (read line by line, in binary);
* `*_validate_stream_vs_*`: the same ratios for `validate_stream`, the per-row interface (one
  `ValidRow` with a record dict or `InvalidRow` per row), for comparison;
* `csv_legs_vs_one_pass`, `jsonl_legs_vs_one_pass`: CPU time of one pass ÷ that of the same pass
  read in 20 legs, as invocations read a file larger than one can (each leg a new reader from the
  saved byte offset, the key tracker saved and resumed as bytes), and `csv_leg_overhead_ms`, what
  each stop and resume adds (mostly the keys held in memory, saved and loaded: every one of the
  file's here, at most the tracker's cap on a large file). S3 requests are not part of it.

Both sides consume every row; each side's best CPU time (`time.process_time`, robust on a
shared machine) of `repeats` runs is used, the two sides' runs alternating, and both must see
the same number of rows (checked) before the ratio is taken. The data are realistic contacts:
unique ids, mixed-case emails, a few notes with quoted commas, a few empty optional cells and
3 % invalid rows by default (bad emails, impossible dates, duplicate ids); the invalid rows the
validator finds must be exactly those the generator made invalid.
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from tenant_pipeline.entities import load_entity
from tenant_pipeline.formats import FileFormat
from tenant_pipeline.validation import (
    KeyTracker,
    Leg,
    ReadCheckpoint,
    SavedKeys,
    ValidationPass,
    validate_batches,
    validate_stream,
)

LEGS = 20
COUNTRIES = ("US", "FR", "DE", "GB", "JP", "BR", "IN", "CA")


def invalid_rows(rows: int, invalid_every: int = 100) -> int:
    """How many of `contact_rows(rows, invalid_every=...)` are invalid, by construction."""
    if not invalid_every:
        return 0
    bad = {invalid_every // 2, invalid_every * 3 // 4, invalid_every - 1}
    return sum(1 for i in range(rows) if i % invalid_every in bad)


def contact_rows(rows: int, seed: int = 7, invalid_every: int = 100) -> list[dict[str, object]]:
    """Generated contacts; 3 in every `invalid_every` rows invalid (0: none)."""
    rnd = random.Random(seed)
    out: list[dict[str, object]] = []
    for i in range(rows):
        row: dict[str, object] = {
            "id": f"c-{i:09d}",
            "email": f"User.{i}@Example{i % 97}.com",
            "name": f"Name {rnd.randrange(10**6)} Surname",
            "created_at": f"20{rnd.randint(10, 24)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T"
            f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}Z",
        }
        if i % 5:
            row["age"] = rnd.randint(0, 99)
            row["country"] = rnd.choice(COUNTRIES)
        if i % 7 == 0:
            row["notes"] = 'called back, wants "premium" plan'
        bad = i % invalid_every if invalid_every else -1
        if bad == invalid_every // 2:
            row["email"] = "not-an-email"
        elif bad == invalid_every * 3 // 4:
            row["created_at"] = "2021-02-30T00:00:00Z"
        elif bad == invalid_every - 1:
            row["id"] = f"c-{i - 1:09d}"
        out.append(row)
    return out


def write_files(rows: int, folder: Path, invalid_every: int = 100) -> tuple[Path, Path]:
    columns = load_entity("contacts").columns
    csv_path, jsonl_path = folder / "contacts.csv", folder / "contacts.jsonl"
    data = contact_rows(rows, invalid_every=invalid_every)
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(data)
    with jsonl_path.open("wb") as fb:
        for row in data:
            fb.write(orjson.dumps(row) + b"\n")
    return csv_path, jsonl_path


def _best(fn: Callable[[], int], repeats: int) -> tuple[float, int]:
    best, count = float("inf"), -1
    for _ in range(repeats):
        start = time.process_time()
        count = fn()
        best = min(best, time.process_time() - start)
    return best, count


def _best_interleaved(
    floor: Callable[[], int], ours: Callable[[], int], repeats: int
) -> tuple[tuple[float, int], tuple[float, int]]:
    """`_best` of both sides, their runs alternating, so a slow spell of the machine hits both alike."""
    best = [(float("inf"), -1), (float("inf"), -1)]
    for _ in range(repeats):
        for side, fn in enumerate((floor, ours)):
            spent, count = _best(fn, 1)
            best[side] = (min(best[side][0], spent), count)
    return best[0], best[1]


def _csv_floor(path: Path) -> int:
    n = 0
    with path.open(newline="", encoding="utf-8") as f:
        for _ in csv.reader(f):
            n += 1
    return n - 1  # header


def _orjson_floor(path: Path) -> int:
    n = 0
    loads = orjson.loads
    with path.open("rb") as f:
        for line in f:
            loads(line)
            n += 1
    return n


def _ours(path: Path, key: str) -> Callable[[], int]:
    entity = load_entity("contacts")
    fmt = FileFormat.from_key(key)

    def run() -> int:
        n = 0
        with path.open("rb") as f, KeyTracker() as keys:
            for batch in validate_batches(f, fmt, entity, keys=keys):
                n += batch.total
        return n

    return run


def _ours_per_row(path: Path, key: str) -> Callable[[], int]:
    entity = load_entity("contacts")
    fmt = FileFormat.from_key(key)

    def run() -> int:
        n = 0
        with path.open("rb") as f:
            for _ in validate_stream(f, fmt, entity):
                n += 1
        return n

    return run


def _ours_in_legs(path: Path, key: str, legs: int) -> Callable[[], int]:
    """The pass of `_ours`, read in `legs` legs of about equal bytes; the rows it read (late duplicates
    aside: the figure is the reading's)."""
    entity = load_entity("contacts")
    fmt = FileFormat.from_key(key)
    size = path.stat().st_size

    def run() -> int:
        n, leg = 0, 0
        start: ReadCheckpoint | None = None
        saved: SavedKeys | None = None
        with path.open("rb") as f:
            while True:
                leg += 1
                f.seek(start.offset if start else 0)  # the ranged read of the rest
                boundary = size * leg // legs
                keys = KeyTracker.resumed(saved) if saved else KeyTracker()
                with keys:
                    validation = ValidationPass(f, fmt, entity, keys=keys, start=start)
                    reading = Leg(validation, out_of_time=lambda: _past(validation, boundary))  # noqa: B023
                    n += sum(batch.total for batch in reading)
                    saved = keys.save()
                if reading.stopped_at is None:
                    return n
                start = reading.stopped_at

    return run


def _past(validation: ValidationPass, boundary: int) -> bool:
    """Whether the pass has read up to `boundary` (the stream's own position runs a chunk ahead)."""
    point = validation.checkpoint()
    return point is not None and point.offset >= boundary


def _invalid_count(path: Path, key: str) -> int:
    """Invalid rows found in one pass, plus the duplicates found after it (past the key tracker's cap)."""
    fmt, entity = FileFormat.from_key(key), load_entity("contacts")
    with path.open("rb") as f, KeyTracker() as keys:
        found = sum(len(batch.invalid) for batch in validate_batches(f, fmt, entity, keys=keys))
        return found + sum(1 for _ in keys.later_duplicates())


def run(rows: int, repeats: int = 5, invalid_every: int = 100) -> dict[str, float]:
    """Generate `rows` contacts, measure both formats, return the figures (rows/s and ratios)."""
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, jsonl_path = write_files(rows, Path(tmp), invalid_every)
        (csv_floor_s, n_floor), (csv_ours_s, n_ours) = _best_interleaved(
            lambda: _csv_floor(csv_path), _ours(csv_path, "contacts.csv"), repeats
        )
        if n_floor != n_ours:
            raise AssertionError(f"CSV row counts differ: csv.reader {n_floor}, validator {n_ours}")
        csv_rows_s, n_rows = _best(_ours_per_row(csv_path, "contacts.csv"), repeats)
        (csv_one_s, n_one), (csv_legs_s, n_legs) = _best_interleaved(
            _ours(csv_path, "contacts.csv"), _ours_in_legs(csv_path, "contacts.csv", LEGS), repeats
        )
        (jl_one_s, j_one), (jl_legs_s, j_legs) = _best_interleaved(
            _ours(jsonl_path, "contacts.jsonl"), _ours_in_legs(jsonl_path, "contacts.jsonl", LEGS), repeats
        )
        if not n_one == n_legs == n_floor or not j_one == j_legs:
            raise AssertionError(
                f"rows read in legs differ: CSV {n_one}/{n_legs}, JSON Lines {j_one}/{j_legs}"
            )
        (jl_floor_s, j_floor), (jl_ours_s, j_ours) = _best_interleaved(
            lambda: _orjson_floor(jsonl_path), _ours(jsonl_path, "contacts.jsonl"), repeats
        )
        jl_rows_s, j_rows = _best(_ours_per_row(jsonl_path, "contacts.jsonl"), repeats)
        if not j_floor == j_ours == j_rows or n_rows != n_floor:
            raise AssertionError(
                f"row counts differ: orjson {j_floor}, validator {j_ours}/{j_rows}, csv {n_rows}"
            )
        invalid_csv = _invalid_count(csv_path, "contacts.csv")
        invalid_jsonl = _invalid_count(jsonl_path, "contacts.jsonl")
        made_invalid = invalid_rows(rows, invalid_every)
        if not invalid_csv == invalid_jsonl == made_invalid:
            raise AssertionError(
                f"invalid rows: {made_invalid} generated, found {invalid_csv} in the CSV, "
                f"{invalid_jsonl} in the JSON Lines"
            )
        csv_mb = csv_path.stat().st_size / 1e6
        jsonl_mb = jsonl_path.stat().st_size / 1e6
    return {
        "rows": float(rows),
        "invalid_rows": float(invalid_csv),
        "csv_reader_rows_per_s": n_floor / csv_floor_s,
        "csv_validate_rows_per_s": n_ours / csv_ours_s,
        "csv_validate_mb_per_s": csv_mb / csv_ours_s,
        "csv_validate_vs_csv_reader": csv_floor_s / csv_ours_s,
        "orjson_rows_per_s": j_floor / jl_floor_s,
        "jsonl_validate_rows_per_s": j_ours / jl_ours_s,
        "jsonl_validate_mb_per_s": jsonl_mb / jl_ours_s,
        "jsonl_validate_vs_orjson": jl_floor_s / jl_ours_s,
        "csv_validate_stream_vs_csv_reader": csv_floor_s / csv_rows_s,
        "jsonl_validate_stream_vs_orjson": jl_floor_s / jl_rows_s,
        "csv_legs_vs_one_pass": csv_one_s / csv_legs_s,
        "jsonl_legs_vs_one_pass": jl_one_s / jl_legs_s,
        "csv_leg_overhead_ms": 1000 * (csv_legs_s - csv_one_s) / (LEGS - 1),
    }


def main(argv: list[str]) -> None:
    rows = int(argv[1]) if len(argv) > 1 else 100_000
    for invalid_every in (100, 0):
        print(f"-- {rows} contacts, {'3 %' if invalid_every else 'no'} invalid rows")
        for key, value in run(rows, invalid_every=invalid_every).items():
            print(f"{key:32} {value:>14,.2f}")


if __name__ == "__main__":
    main(sys.argv)
