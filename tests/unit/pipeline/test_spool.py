"""The validator's spool of valid rows: dropping late duplicates never needs a second copy in `/tmp`."""

from __future__ import annotations

import tempfile

import orjson
import pytest

from tenant_pipeline.imports.fanout import BatchSpool
from tenant_pipeline.validation.duplicates import LateDuplicate


def test_exclude_rewrites_the_spool_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 10 batches of 4 rows spooled,
    with BatchSpool(batch_rows=4) as spool:
        spool.add_batch(list(range(2, 42)), [[f"id-{n}", n * 1.5, "x" * (n % 7)] for n in range(40)])
        spool.finish()
        before = spool.size_bytes()
        opened: list[object] = []
        monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: opened.append(1))
        # when rows at lines 3, 6..9 (a whole batch) and 41 turn out to be later duplicates,
        late = [
            LateDuplicate(line=n, key=f"id-{n - 2}", first_line=1, ordinal=n - 2) for n in (3, 6, 7, 8, 9, 41)
        ]
        removed: list[int] = []
        count = spool.exclude(iter(late), lambda pair: removed.append(pair.line))
        # then no second spool was opened, the file shrank, and the rest reads back in order.
        assert opened == []
        assert count == 6 and removed == [3, 6, 7, 8, 9, 41]
        assert spool.size_bytes() < before
        batches = list(spool)
        assert [number for number, _, _ in batches] == list(range(1, 10))
        assert sum(rows for _, rows, _ in batches) == 34 == spool.rows
        assert spool.batches == 9


def test_exclude_tells_apart_rows_that_share_a_line() -> None:
    # Given five rows of a one-line JSON array (all at line 1), spooled in batches of two,
    with BatchSpool(batch_rows=2) as spool:
        spool.add_batch([1] * 5, [[f"id-{n % 3}", n] for n in range(5)])
        spool.finish()
        # when the 4th and 5th rows (ordinals 3 and 4) repeat the 1st and 2nd ones' ids,
        late = [LateDuplicate(line=1, key=f"id-{n % 3}", first_line=1, ordinal=n) for n in (3, 4)]
        assert spool.exclude(iter(late), lambda _: None) == 2
        # then exactly those two are gone and the first occurrences stay.
        kept = [orjson.loads(rows) for _, _, rows in spool]
        assert kept == [[["id-0", 0], ["id-1", 1]], [["id-2", 2]]]


def test_segments_saved_by_legs_lose_exactly_the_late_duplicates_across_their_bounds() -> None:
    # Given 23 valid rows spooled by three legs (9, 8 and 6 rows, batches of 4), each segment saved as bytes,
    rows = [[f"id-{n}", n] for n in range(23)]
    saved: list[bytes] = []
    first = 0
    for size in (9, 8, 6):
        with BatchSpool(batch_rows=4) as spool:
            spool.add_batch(list(range(first + 2, first + size + 2)), rows[first : first + size])
            spool.finish()
            saved.append(spool.saved().read())
        first += size
    # when the rows at ordinals 8 (the first leg's last), 9-12 (the second leg's first batch), 16 and 22
    # turn out to be later duplicates, handed to each segment in turn,
    dropped = [8, 9, 10, 11, 12, 16, 22]
    late = [LateDuplicate(line=o + 2, key=f"id-{o}", first_line=1, ordinal=o) for o in dropped]
    kept: list[list[object]] = []
    removed: list[int] = []
    batches = []
    first = 0
    for data in saved:
        segment = tempfile.TemporaryFile()  # noqa: SIM115 - the reopened spool owns and closes it
        segment.write(data)
        with BatchSpool.reopen(segment, batch_rows=4) as spool:
            end = first + spool.rows
            in_segment = iter([found for found in late if first <= found.ordinal < end])
            spool.exclude(in_segment, lambda found: removed.append(found.ordinal), first_ordinal=first)
            batches.append(spool.batches)
            kept += [row for _, _, rows_json in spool for row in orjson.loads(rows_json)]
            first = end
    # then exactly those rows are gone, each once, the others kept in order, and no batch is left empty.
    assert removed == dropped
    assert kept == [row for ordinal, row in enumerate(rows) if ordinal not in dropped]
    assert batches == [2, 1, 2]
