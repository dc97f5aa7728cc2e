"""The HTML waterfall in a real headless chromium: bars drawn where the spans say, groups that expand,
the explanation on top, nothing fetched from the network."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tenantctl.trace_html import render_html
from tenantctl.trace_tree import build_tree
from tests.browser.chromium import file_url, run_headless

pytestmark = pytest.mark.browser

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
BATCHES = 12


def _span(
    span_id: str, name: str, start_ms: float, end_ms: float, parent: str | None = None
) -> dict[str, Any]:
    return {
        "trace_id": "ab" * 16,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "start_time_unix_nano": T0 + int(start_ms * MS),
        "end_time_unix_nano": T0 + int(end_ms * MS),
        "attributes": {"tenant.id": "acme", "span.marker": span_id},
        "status": {"code": "UNSET"},
    }


def _import_spans() -> list[dict[str, Any]]:
    """A 10 s import: validate 0-2 s, 12 batches of 0.5 s from 2.5 s on, completion 9-10 s."""
    spans = [
        _span("root", "data.import", 0, 10_000),
        _span("val", "data.import.validate", 0, 2_000, "root"),
        _span("done", "data.import.complete", 9_000, 10_000, "root"),
    ]
    spans += [
        _span(f"b{n:02d}", "data.import.batch", 2_500 + n * 500, 3_000 + n * 500, "root")
        for n in range(BATCHES)
    ]
    return spans


class _Bars(HTMLParser):
    """Every bar with its row: what it was drawn from and where the browser put it."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[dict[str, str]] = []
        self.body: dict[str, str] = {}
        self.explanation = False
        self._row: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        classes = found.get("class", "").split()
        if tag == "body":
            self.body = found
        elif tag == "div" and "row" in classes:
            self._row = found
        elif tag == "span" and "bar" in classes:
            self.bars.append(
                {
                    **found,
                    "row_class": self._row.get("class", ""),
                    "span_id": self._row.get("data-span-id", ""),
                }
            )
        elif found.get("id") == "explanation":
            self.explanation = True


def _drawn(chromium: str, page: Path, fragment: str = "") -> _Bars:
    parser = _Bars()
    parser.feed(run_headless(chromium, file_url(page, fragment), "--dump-dom"))
    return parser


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "trace.html"
    path.write_text(
        render_html(
            build_tree(_import_spans()),
            title="trace of job imp-1",
            explanation=["The job was bound by writes."],
        )
    )
    return path


def test_bars_are_drawn_where_the_spans_say(chromium: str, page: Path) -> None:
    drawn = _drawn(chromium, page)
    axis_width = float(drawn.body["data-axis-width"])
    total_ms = float(drawn.body["data-total-ms"])

    visible = [bar for bar in drawn.bars if "hidden" not in bar["row_class"].split()]
    assert {bar["span_id"] for bar in visible} == {"root", "val", "done", ""}  # "" is the batches' group
    assert axis_width > 400 and total_ms == pytest.approx(10_000)
    for bar in visible:
        start, duration = float(bar["data-start-ms"]), float(bar["data-duration-ms"])
        assert float(bar["data-drawn-x"]) == pytest.approx(start / total_ms * axis_width, abs=1.5)
        assert float(bar["data-drawn-width"]) == pytest.approx(
            max(1.0, duration / total_ms * axis_width), abs=1.5
        )
    (group,) = [bar for bar in visible if bar["span_id"] == ""]
    assert float(group["data-start-ms"]) == pytest.approx(2_500) and float(
        group["data-duration-ms"]
    ) == pytest.approx(6_000)
    assert drawn.explanation


def test_collapsed_batches_are_hidden_until_expanded(chromium: str, page: Path) -> None:
    collapsed = _drawn(chromium, page)
    expanded = _drawn(chromium, page, "expand")

    def shown(drawn: _Bars) -> set[str]:
        return {bar["span_id"] for bar in drawn.bars if "hidden" not in bar["row_class"].split()}

    batches = {f"b{n:02d}" for n in range(BATCHES)}
    assert not batches & shown(collapsed)
    assert batches <= shown(expanded)
    axis_width = float(expanded.body["data-axis-width"])
    last = next(bar for bar in expanded.bars if bar["span_id"] == f"b{BATCHES - 1:02d}")
    assert float(last["data-drawn-x"]) == pytest.approx(
        (2_500 + (BATCHES - 1) * 500) / 10_000 * axis_width, abs=1.5
    )


def test_the_page_needs_no_network_and_a_screenshot_is_taken(
    chromium: str, page: Path, tmp_path: Path
) -> None:
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "src=" not in text
    screenshot = tmp_path / "waterfall.png"

    run_headless(chromium, file_url(page, "expand"), f"--screenshot={screenshot}")

    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 5_000
