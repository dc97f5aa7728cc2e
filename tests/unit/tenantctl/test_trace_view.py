"""The trace drawing on hand-built span lists: offsets, collapsed siblings, gaps, links, screen size."""

from __future__ import annotations

from typing import Any

from tenantctl.trace_timing import human_duration, uncovered_gaps
from tenantctl.trace_tree import MAX_LINES, build_tree, fit_screen, render_tree

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
TRACE = "ab" * 16


def _span(
    span_id: str, name: str, start_ms: float, end_ms: float, parent: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_time_unix_nano": T0 + int(start_ms * MS),
        "end_time_unix_nano": T0 + int(end_ms * MS),
        **extra,
    }


def _import(batches: int) -> list[dict[str, Any]]:
    """A 10 s root: validate 0-1 s, `batches` batches of 100-1,099 ms over 1-9 s, completion 9.5-10 s."""
    spans = [
        _span("root", "data.import", 0, 10_000),
        _span("val", "validate", 0, 1_000, "root"),
        _span("done", "complete", 9_500, 10_000, "root"),
    ]
    for number in range(batches):
        start = 1_000 + number * (7_000 / batches)
        spans.append(_span(f"b{number}", "process batches", start, start + 100 + number % 1000, "root"))
    return spans


def test_each_line_starts_with_its_offset_from_the_first_span() -> None:
    lines = render_tree(build_tree(_import(batches=2)))

    assert lines[0].split()[:2] == ["+0.0", "ms"]
    completion = next(line for line in lines if "complete" in line)
    assert completion.split()[:2] == ["+9.50", "s"]


def test_repeated_siblings_share_one_line_with_count_min_median_max_total() -> None:
    spans = [_span("root", "data.import", 0, 1_000)] + [
        _span(f"b{n}", "process batches", 100 * n, 100 * n + ms, "root")
        for n, ms in enumerate([10, 30, 20, 40])
    ]

    lines = render_tree(build_tree(spans))

    batch_lines = [line for line in lines if "process batches" in line]
    assert len(batch_lines) == 1
    assert "4 spans" in batch_lines[0]
    assert "min 10.0 ms  median 25.0 ms  max 40.0 ms  total 100.0 ms" in batch_lines[0]


def test_all_draws_every_sibling() -> None:
    lines = render_tree(build_tree(_import(batches=5)), expand_all=True)

    assert sum("process batches" in line for line in lines) == 5


def test_two_siblings_are_drawn_apart() -> None:
    lines = render_tree(build_tree(_import(batches=2)))

    assert sum("process batches" in line for line in lines) == 2


def test_time_no_child_covers_is_marked_where_it_happens() -> None:
    # Given a 1,294.8 ms root whose two children cover 0-100 ms and 1,100-1,263 ms
    spans = [
        _span("root", "data.import", 0, 1_294.8),
        _span("a", "validate", 0, 100, "root"),
        _span("b", "complete", 1_100, 1_263, "root"),
    ]

    lines = render_tree(build_tree(spans))

    gaps = [line for line in lines if "gap" in line]
    assert [line.split("gap")[1].split(":")[0].strip() for line in gaps] == ["1.00 s", "31.8 ms"]
    assert gaps[0].split()[:2] == ["+100.0", "ms"]
    assert lines.index(gaps[0]) < next(i for i, line in enumerate(lines) if "complete" in line)


def test_overlapping_children_leave_no_gap() -> None:
    spans = [_span("root", "r", 0, 100)] + [
        _span(f"c{n}", "c", n * 10, n * 10 + 30, "root") for n in range(8)
    ]
    spans.append(_span("last", "d", 90, 100, "root"))

    assert not [line for line in render_tree(build_tree(spans)) if "gap" in line]


def test_many_small_gaps_show_the_longest_few_and_count_the_rest() -> None:
    # Given 10 children with pauses of 10..18 ms between them, under a root that ends 74 ms after the last
    spans = [_span("root", "r", 0, 1_200)]
    start = 0.0
    for n in range(10):
        spans.append(_span(f"c{n}", f"step{n}", start, start + 100, "root"))
        start += 100 + 10 + n

    lines = render_tree(build_tree(spans))

    shown = [line for line in lines if "·· gap" in line]
    assert [line.split("gap")[1].split(":")[0].strip() for line in shown] == ["17.0 ms", "18.0 ms", "74.0 ms"]
    assert any("5 more gaps" in line for line in lines)
    assert len([line for line in render_tree(build_tree(spans), expand_all=True) if "·· gap" in line]) == 8


def test_a_thousand_batch_import_fits_one_screen() -> None:
    lines = render_tree(build_tree(_import(batches=1_000)))

    assert len(lines) + 1 <= MAX_LINES  # and the heading line
    assert fit_screen(lines, MAX_LINES - 1) == lines
    assert sum("1000 spans" in line for line in lines) == 1


def test_children_of_collapsed_siblings_are_collapsed_together() -> None:
    spans = _import(batches=4)
    spans += [
        _span(f"w{n}", "dynamodb.BatchWriteItem", 1_000 + n * 1_750, 1_000 + n * 1_750 + 5, f"b{n}")
        for n in range(4)
    ]

    lines = render_tree(build_tree(spans))

    writes = [line for line in lines if "BatchWriteItem" in line]
    assert len(writes) == 1 and "4 spans" in writes[0]


def test_a_link_out_of_the_trace_names_the_trace_to_follow() -> None:
    other = "cd" * 16
    spans = [_span("root", "data.import", 0, 10, links=[{"trace_id": other, "span_id": "ef" * 8}])]

    lines = render_tree(build_tree(spans))

    assert any(f"link to trace {other} span" in line for line in lines)


def test_fit_screen_cuts_and_says_how_many_lines_were_left_out() -> None:
    cut = fit_screen([str(n) for n in range(100)], 40)

    assert len(cut) == 40
    assert cut[-1].startswith("… 61 more lines")


def test_uncovered_gaps_clip_children_to_the_parent() -> None:
    gaps = uncovered_gaps(0, 100, [(-5, 10), (20, 30), (25, 40), (90, 120)])

    assert [(gap.start_ns, gap.end_ns) for gap in gaps] == [(10, 20), (40, 90)]


def test_durations_read_in_the_unit_that_suits_them() -> None:
    assert [human_duration(ms) for ms in (0.42, 999.9, 12_345, 252_100)] == [
        "0.4 ms",
        "999.9 ms",
        "12.35 s",
        "4m 12s",
    ]
