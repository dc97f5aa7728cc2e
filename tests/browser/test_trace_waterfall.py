"""The HTML waterfall in a real headless chromium: bars drawn where the spans say, groups that expand,
the explanation on top, nothing fetched from the network."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tenant_pipeline.migration.chunk_timing import ChunkTiming
from tenant_pipeline.migration.ledger import MigrationRecord, MigrationStatus
from tenantctl.migration_explanation import explain_migration
from tenantctl.recorded_explanation import explanation_lines
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
        self.explanation_text = ""
        self.explanation_above_bars = False
        self._row: dict[str, str] = {}
        self._in_explanation = False

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
            self.explanation_above_bars = not self.bars
            self._in_explanation = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_explanation = False

    def handle_data(self, data: str) -> None:
        if self._in_explanation:
            self.explanation_text += data


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


def _at(ms: int) -> str:
    return f"2023-11-14T22:13:{20 + ms // 1000:02d}.{ms % 1000:03d}Z"  # T0 + ms


def _migration() -> tuple[MigrationRecord, list[dict[str, Any]]]:
    """A 6.9 s migration as its ledger records it: each phase's times, and its 3 load chunks."""
    phases = {
        "validate": (0, 200),
        "freeze": (300, 400),
        "snapshot": (500, 1_500),
        "transfer": (1_600, 2_000),
        "verify": (6_000, 6_500),
        "cutover": (6_600, 6_800),
    }
    fields: dict[str, Any] = {
        f"phase_{name}": json.dumps({"status": "done", "started_at": _at(start), "finished_at": _at(end)})
        for name, (start, end) in phases.items()
    }
    fields.update(finished_at=_at(6_900), record_count=3_000, target_record_count=3_000)
    fields.update(load_records=3_000, load_chunks=3)
    record = MigrationRecord(
        migration_id="acme-20231114T221320Z-abc123",
        tenant_id="acme",
        source_region="us-east-1",
        target_region="eu-west-1",
        status=MigrationStatus.SUCCEEDED,
        started_at=_at(0),
        fields=fields,
    )
    chunks = [
        ChunkTiming(
            chunk=n,
            records=1_000,
            started_ns=T0 + start * MS,
            read_s=0.1,
            write_started_ns=T0 + (start + 100) * MS,
            write_ended_ns=T0 + (end - 10) * MS,
            throttled_retries=0,
            throttled_s=0.0,
            ended_ns=T0 + end * MS,
        ).to_dict()
        for n, (start, end) in enumerate([(2_100, 3_100), (3_500, 5_500), (3_600, 4_000)])
    ]
    return record, chunks


def _migration_spans() -> list[dict[str, Any]]:
    spans = [_span("root", "tenant.migration", 0, 6_900)]
    spans += [
        _span(name, f"migration.{name}", start, end, "root")
        for name, start, end in [
            ("freeze", 300, 400),
            ("snapshot", 500, 1_500),
            ("transfer", 1_600, 2_000),
            ("verify", 6_000, 6_500),
            ("cutover", 6_600, 6_800),
        ]
    ]
    return spans


def test_a_migrations_page_shows_its_explanation_on_top(chromium: str, tmp_path: Path) -> None:
    record, chunks = _migration()
    lines = explanation_lines(explain_migration(record, chunks, now_ns=T0))
    page = tmp_path / "migration.html"
    page.write_text(
        render_html(
            build_tree(_migration_spans()),
            title=f"trace of migration {record.migration_id}",
            explanation=lines,
        )
    )

    drawn = _drawn(chromium, page)

    assert drawn.explanation and drawn.explanation_above_bars
    shown = drawn.explanation_text.splitlines()
    assert shown[0].startswith(f"migration {record.migration_id} (SUCCEEDED): 3,000 items in 6.90 s")
    assert "The migration was bound by load (writing the snapshot's chunks into the target table)" in (
        drawn.explanation_text
    )
    table = shown[shown.index(next(line for line in shown if line.startswith("phase "))) + 1 :]
    phase_names = {line.split()[0] for line in table[: table.index("")]}
    assert {"freeze", "snapshot", "transfer", "load", "verify", "cutover", "transitions"} <= phase_names
