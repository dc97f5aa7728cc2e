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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("abcdefghijklmnop"), max_size=12), max_size=12),
    st.integers(min_value=1, max_value=6),
)
def test_past_the_cap_repeats_are_exact_once_the_spill_is_resolved(
    batches: list[list[str]], cap: int
) -> None:
    # Given a tracker that keeps only a few keys in memory (a tiny cap forces spills and re-splits)
    with KeyTracker(max_keys=cap, partitions=2) as tracker:
        seen: set[str] = set()
        expected: list[int] = []
        found: list[int] = []
        line = 0
        for batch in batches:
            lines = list(range(line, line + len(batch)))
            line += len(batch)
            for number, key in zip(lines, batch, strict=True):
                if key in seen:
                    expected.append(number)
                seen.add(key)
            # When rows are checked batch by batch, in file order
            found += [lines[pos] for pos in tracker.check(lines, batch)]
        found += [late.line for late in tracker.later_duplicates()]
    # Then immediate and later repeats together are exactly the set's repeats: the first occurrence stands
    assert sorted(found) == expected


def test_memory_is_bounded_however_many_keys() -> None:
    with KeyTracker(max_keys=20_000) as tracker:
        tracker.add_batch(f"contact-{i:012d}" for i in range(200_000))
        assert len(tracker) == 200_000
        assert tracker.memory_bytes <= 200_000 * 22
        assert tracker.spilled
        assert list(tracker.later_duplicates()) == []
