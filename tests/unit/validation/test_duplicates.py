from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tenant_pipeline.validation import KeyTracker


@given(st.lists(st.lists(st.text(max_size=4), max_size=30), max_size=20))
def test_reports_exactly_the_repeats_like_a_set(batches: list[list[str]]) -> None:
    tracker = KeyTracker(initial_slots=16)  # small, so the table grows during the test
    seen: set[str] = set()
    for batch in batches:
        expected = []
        for pos, key in enumerate(batch):
            if key in seen:
                expected.append(pos)
            seen.add(key)
        assert tracker.add_batch(batch) == expected
    assert len(tracker) == len(seen)


def test_memory_is_a_few_bytes_per_key() -> None:
    tracker = KeyTracker()
    tracker.add_batch(f"contact-{i:012d}" for i in range(200_000))
    assert len(tracker) == 200_000
    assert tracker.memory_bytes <= 200_000 * 22
