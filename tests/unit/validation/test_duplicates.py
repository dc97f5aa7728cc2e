from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_pipeline.validation import KeyTracker


@given(st.lists(st.lists(st.text(max_size=4), max_size=30), max_size=20))
def test_reports_exactly_the_repeats_like_a_set(batches: list[list[str]]) -> None:
    tracker = KeyTracker()
    seen: set[str] = set()
    for batch in batches:
        expected = []
        for pos, key in enumerate(batch):
            if key in seen:
                expected.append(pos)
            seen.add(key)
        assert tracker.add_batch(batch) == expected
    assert len(tracker) == len(seen)


same_line = st.booleans()
"""Whether a row starts on the line of the row before it."""


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.sampled_from("abcdefghijklmnop"), same_line), max_size=12), max_size=12),
    st.integers(min_value=1, max_value=6),
)
def test_past_the_cap_repeats_are_exact_once_the_spill_is_resolved(
    batches: list[list[tuple[str, bool]]], cap: int
) -> None:
    # Given a tracker that keeps only a few keys in memory (a tiny cap forces spills and re-splits),
    # and rows that sometimes share a line with the row before (a JSON array on one line)
    with KeyTracker(max_keys=cap, partitions=2) as tracker:
        seen: set[str] = set()
        expected: list[int] = []
        immediate: set[int] = set()
        row = line = 0
        for batch in batches:
            lines = []
            for key, same_line in batch:
                line += 0 if same_line and row else 1
                lines.append(line)
                if key in seen:
                    expected.append(row)
                seen.add(key)
                row += 1
            first = row - len(batch)
            # When rows are checked batch by batch, in file order
            immediate.update(first + pos for pos in tracker.check(lines, [key for key, _ in batch]))
        # (a later repeat names its row by its ordinal among the rows not flagged at once)
        passed = [r for r in range(row) if r not in immediate]
        late = [passed[found.ordinal] for found in tracker.later_duplicates()]
    # Then immediate and later repeats together are exactly the set's repeats: the first occurrence stands
    assert sorted([*immediate, *late]) == expected


def test_memory_is_bounded_however_many_keys() -> None:
    with KeyTracker(max_keys=20_000) as tracker:
        tracker.add_batch(f"contact-{i:012d}" for i in range(200_000))
        assert len(tracker) == 200_000
        assert tracker.memory_bytes <= 200_000 * 22
        assert tracker.spilled
        assert list(tracker.later_duplicates()) == []
