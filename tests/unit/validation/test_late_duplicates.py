"""Files with more distinct keys than the tracker keeps in memory: repeats found after the pass."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tenant_pipeline.entities import load_entity
from tenant_pipeline.formats import FileFormat, ReadLimits
from tenant_pipeline.imports.fanout import BatchSpool
from tenant_pipeline.validation import (
    DUPLICATE_REASON,
    InvalidRow,
    KeyTracker,
    ValidRow,
    validate_batches,
    validate_stream,
)

CONTACTS = load_entity("contacts")
HEADER = "id,email,name,age,created_at,country,notes\n"


def _file(ids: list[str]) -> bytes:
    return (HEADER + "".join(f"{i},u@x.co,N,,2021-01-01T00:00:00Z,,\n" for i in ids)).encode()


IDS = [f"k{i}" for i in range(40)] + ["k3", "k35", "k39", "k50", "k50", "k1"]
# lines: k0 is on line 2; the repeats sit on lines 42..47 (k50's first occurrence on line 45)
REPEATED_LINES = [42, 43, 44, 46, 47]


def test_validate_stream_past_the_cap_matches_an_in_memory_run() -> None:
    # Given a tracker that keeps 8 keys in memory and batches of 5 rows
    limits = ReadLimits(batch_rows=5)
    small = list(validate_stream(io.BytesIO(_file(IDS)), FileFormat.from_key("f.csv"), CONTACTS, limits,
                                 keys=KeyTracker(max_keys=8, partitions=2)))  # fmt: skip
    # When the same file is validated with every key in memory
    full = list(validate_stream(io.BytesIO(_file(IDS)), FileFormat.from_key("f.csv"), CONTACTS, limits))
    # Then the outcomes are identical, in file order, the first occurrence standing
    assert small == full
    assert [o.line for o in small] == list(range(2, 2 + len(IDS)))
    assert [o.line for o in small if isinstance(o, InvalidRow)] == REPEATED_LINES
    assert all(o.errors[0].reason.startswith(DUPLICATE_REASON) for o in small if isinstance(o, InvalidRow))
    assert sum(isinstance(o, ValidRow) for o in small) + len(REPEATED_LINES) == len(IDS)


def test_a_repeat_inside_the_batch_where_spilling_began_is_found() -> None:
    # Given 8 keys in memory and batches of 5 rows: the second batch keeps k5..k7 in memory and spills
    # its last two rows, which repeat each other
    ids = [f"k{i}" for i in range(8)] + ["k8", "k8"] + [f"k{i}" for i in range(9, 20)]
    limits = ReadLimits(batch_rows=5)
    small = list(validate_stream(io.BytesIO(_file(ids)), FileFormat.from_key("f.csv"), CONTACTS, limits,
                                 keys=KeyTracker(max_keys=8, partitions=2)))  # fmt: skip
    # Then that repeat (line 11) is reported, as with every key in memory
    full = list(validate_stream(io.BytesIO(_file(ids)), FileFormat.from_key("f.csv"), CONTACTS, limits))
    assert [o.line for o in full if isinstance(o, InvalidRow)] == [11]
    assert small == full


SPILL_BATCH_REPEAT = [f"k{i}" for i in range(8)] + ["k8", "k8"] + [f"k{i}" for i in range(9, 20)]


@pytest.mark.parametrize(
    ("ids", "late", "repeats"),
    [
        # (k3 and k1 repeat keys held in memory: known at once; the others only after the pass)
        (IDS, [(43, "k35"), (44, "k39"), (46, "k50")], len(REPEATED_LINES)),
        # a repeat among the rows spilled in the batch where spilling began
        (SPILL_BATCH_REPEAT, [(11, "k8")], 1),
    ],
    ids=["after-the-spill", "in-the-spill-batch"],
)
def test_the_spool_drops_late_duplicates_and_keeps_the_invariant(
    ids: list[str], late: list[tuple[int, str]], repeats: int
) -> None:
    # Given a validation pass whose tracker spilled
    reported: list[tuple[int, Any]] = []
    with KeyTracker(max_keys=8, partitions=2) as keys, BatchSpool(batch_rows=4) as spool:
        total = invalid = 0
        for batch in validate_batches(
            io.BytesIO(_file(ids)),
            FileFormat.from_key("f.csv"),
            CONTACTS,
            ReadLimits(batch_rows=5),
            keys=keys,
        ):
            total += batch.total
            invalid += len(batch.invalid)
            spool.add_batch(batch.lines, batch.rows)
        spool.finish()
        assert keys.spilled
        # When the later duplicates are excluded from the spool
        invalid += spool.exclude(keys.later_duplicates(), lambda late: reported.append((late.line, late.key)))
        spooled = [(number, count) for number, count, _ in spool]
    # Then stored + reported = rows in the file, batch numbers stay consecutive, and every repeat is named
    assert total == len(ids)
    assert spool.rows + invalid == total
    assert [number for number, _ in spooled] == list(range(1, len(spooled) + 1))
    assert sum(count for _, count in spooled) == spool.rows == len(ids) - repeats
    assert reported == late
