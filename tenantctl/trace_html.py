"""One trace as a self-contained HTML waterfall: bars on a time axis, repeated siblings in groups that
expand, the job's explanation on top, a span's attributes on click. No network: CSS, script and data inline.

Each bar carries the offsets it was drawn from (`data-start-ms`, `data-duration-ms`); once laid out, the
page writes where the browser put it (`data-drawn-x`, `data-drawn-width`, px on the axis) so a test can
check the drawing against the spans. Opening the file with `#expand` expands every group.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenantctl.trace_timing import human_duration, human_offset, telling_gaps, uncovered_gaps
from tenantctl.trace_tree import COLLAPSE_AT, SpanNode

AXIS_TICKS = 8


@dataclass
class _Row:
    row_id: str
    depth: int
    label: str
    start_ms: float
    duration_ms: float
    groups: list[str]
    """The groups this row sits in: shown only when every one of them is expanded."""
    span_id: str = ""
    group_id: str = ""
    """Set on a group's own row: the id its members name in `groups`."""
    error: bool = False
    members: list[tuple[float, float]] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)


class _Layout:
    def __init__(self, origin_ns: int) -> None:
        self.origin_ns = origin_ns
        self.rows: list[_Row] = []
        self.attributes: dict[str, Any] = {}
        self._groups = 0

    def ms(self, ns: int) -> float:
        return (ns - self.origin_ns) / 1e6

    def add_span(self, node: SpanNode, depth: int, groups: list[str]) -> None:
        record = node.record
        self.attributes[node.span_id] = {
            "name": node.name,
            "span_id": node.span_id,
            "kind": record.get("kind"),
            "status": record.get("status"),
            "offset": human_offset(self.ms(node.start_ns)),
            "duration": human_duration(node.duration_ms),
            "attributes": record.get("attributes") or {},
            "links": record.get("links") or [],
        }
        gaps = uncovered_gaps(node.start_ns, node.end_ns, ((c.start_ns, c.end_ns) for c in node.children))
        shown, _ = telling_gaps(gaps, node.duration_ms, limit=len(gaps)) if node.children else ([], [])
        self.rows.append(
            _Row(
                row_id=f"r{len(self.rows)}",
                depth=depth,
                label=_span_label(node),
                start_ms=self.ms(node.start_ns),
                duration_ms=node.duration_ms,
                groups=groups,
                span_id=node.span_id,
                error=(record.get("status") or {}).get("code") == "ERROR",
                gaps=[(self.ms(gap.start_ns), gap.duration_ms) for gap in shown],
            )
        )
        self.add_children(node.children, depth + 1, groups)

    def add_children(self, children: Sequence[SpanNode], depth: int, groups: list[str]) -> None:
        by_name: dict[str, list[SpanNode]] = {}
        for child in sorted(children, key=lambda node: node.start_ns):
            by_name.setdefault(child.name, []).append(child)
        entries = sorted(by_name.values(), key=lambda siblings: siblings[0].start_ns)
        for siblings in entries:
            if len(siblings) < COLLAPSE_AT:
                for node in siblings:
                    self.add_span(node, depth, groups)
            else:
                self.add_group(siblings, depth, groups)

    def add_group(self, members: Sequence[SpanNode], depth: int, groups: list[str]) -> None:
        self._groups += 1
        group_id = f"g{self._groups}"
        start = min(member.start_ns for member in members)
        end = max(member.end_ns for member in members)
        self.rows.append(
            _Row(
                row_id=f"r{len(self.rows)}",
                depth=depth,
                label=f"{members[0].name} ({len(members)} spans)",
                start_ms=self.ms(start),
                duration_ms=(end - start) / 1e6,
                groups=groups,
                group_id=group_id,
                error=any((m.record.get("status") or {}).get("code") == "ERROR" for m in members),
                members=[(self.ms(member.start_ns), member.duration_ms) for member in members],
            )
        )
        for member in members:
            self.add_span(member, depth + 1, [*groups, group_id])


def _span_label(node: SpanNode) -> str:
    number = (node.record.get("attributes") or {}).get("import.batch_number")
    return f"{node.name} #{number}" if number is not None else node.name


def render_html(roots: Iterable[SpanNode], *, title: str, explanation: Sequence[str] = ()) -> str:
    """The page for the trace whose root spans are `roots` (as `trace_tree.build_tree` returns them)."""
    ordered = list(roots)
    origin = min(root.start_ns for root in ordered)
    layout = _Layout(origin)
    for root in ordered:
        layout.add_span(root, 0, [])
    total_ms = max((row.start_ms + row.duration_ms for row in layout.rows), default=0.0) or 1.0
    rows_html = "\n".join(_row_html(row, total_ms) for row in layout.rows)
    ticks = "".join(
        f'<span class="tick" style="left:{100 * n / AXIS_TICKS:.4f}%">'
        f"{html.escape(human_offset(total_ms * n / AXIS_TICKS))}</span>"
        for n in range(AXIS_TICKS + 1)
    )
    explained = f'<pre id="explanation">{html.escape(chr(10).join(explanation))}</pre>' if explanation else ""
    data = json.dumps(layout.attributes, default=str).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(title),
        explanation=explained,
        ticks=ticks,
        rows=rows_html,
        total_ms=f"{total_ms:.3f}",
        spans=len(layout.attributes),
        data=data,
        style=_STYLE,
        script=_SCRIPT,
    )


def _row_html(row: _Row, total_ms: float) -> str:
    def pct(ms: float) -> str:
        return f"{100 * ms / total_ms:.4f}%"

    classes = ["row"] + (["group"] if row.group_id else []) + (["error"] if row.error else [])
    toggle = '<span class="toggle">▸</span>' if row.group_id else ""
    inner = "".join(
        f'<span class="member" style="left:{pct(start)};width:{pct(duration)}"></span>'
        for start, duration in row.members
    )
    gaps = "".join(
        f'<span class="gap" title="no span covers {html.escape(human_duration(duration))}" '
        f'style="left:{pct(start)};width:{pct(duration)}"></span>'
        for start, duration in row.gaps
    )
    bar = (
        f'<span class="bar" data-start-ms="{row.start_ms:.3f}" data-duration-ms="{row.duration_ms:.3f}" '
        f'style="left:{pct(row.start_ms)};width:{pct(row.duration_ms)}"></span>'
    )
    return (
        f'<div id="{row.row_id}" class="{" ".join(classes)}" data-span-id="{html.escape(row.span_id)}" '
        f'data-group="{row.group_id}" data-groups="{" ".join(row.groups)}">'
        f'<div class="label" style="padding-left:{row.depth * 14 + 4}px">{toggle}'
        f'<span class="name">{html.escape(row.label)}</span>'
        f'<span class="duration">{html.escape(human_duration(row.duration_ms))}</span></div>'
        f'<div class="track">{gaps}{inner}{bar}</div></div>'
    )


_STYLE = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:16px;margin:0 0 8px}
#explanation{background:#f6f8fa;border:1px solid #ddd;padding:8px;font:12px/1.35 monospace;white-space:pre}
.axis,.row{display:flex;align-items:center}
.label{box-sizing:border-box;width:440px;min-width:440px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer}
.duration{color:#666;margin-left:8px}
.track{position:relative;flex:1;height:18px;border-left:1px solid #ccc;margin-right:24px}
.axis .track{height:20px;border-bottom:1px solid #999}
.tick{position:absolute;top:2px;font-size:11px;color:#555;white-space:nowrap;transform:translateX(-50%)}
.tick:first-child{transform:none}
.tick:last-child{transform:translateX(-100%)}
.bar{position:absolute;top:4px;height:10px;min-width:1px;background:#3b7dd8;border-radius:2px}
.group .bar{background:rgba(59,125,216,.25);outline:1px solid #3b7dd8}
.member{position:absolute;top:4px;height:10px;min-width:1px;background:rgba(59,125,216,.35)}
.gap{position:absolute;top:2px;height:14px;
background:repeating-linear-gradient(45deg,#f3c4c4 0 3px,#fff 3px 6px)}
.error .bar{background:#d33}
.row:hover{background:#f0f4fb}
.row.selected{background:#e2ecfb}
.hidden{display:none}
.toggle{display:inline-block;width:12px}
.group.open .toggle{transform:rotate(90deg)}
#details{position:fixed;right:16px;bottom:16px;width:460px;max-height:50%;overflow:auto;background:#fff;
border:1px solid #999;padding:8px;font:12px monospace;white-space:pre-wrap;display:none}
"""

_SCRIPT = """
const spans = JSON.parse(document.getElementById('spans').textContent);
const open = new Set();
const rows = Array.from(document.querySelectorAll('.row'));
function refresh() {
  for (const row of rows) {
    const groups = row.dataset.groups ? row.dataset.groups.split(' ') : [];
    row.classList.toggle('hidden', !groups.every(g => open.has(g)));
    if (row.dataset.group) row.classList.toggle('open', open.has(row.dataset.group));
  }
  measure();
}
function measure() {
  const axis = document.querySelector('.axis .track').getBoundingClientRect();
  document.body.dataset.axisX = axis.left.toFixed(2);
  document.body.dataset.axisWidth = axis.width.toFixed(2);
  for (const bar of document.querySelectorAll('.bar')) {
    const box = bar.getBoundingClientRect();
    bar.dataset.drawnX = (box.left - axis.left).toFixed(2);
    bar.dataset.drawnWidth = box.width.toFixed(2);
  }
}
for (const row of rows) {
  row.addEventListener('click', () => {
    if (row.dataset.group) {
      open.has(row.dataset.group) ? open.delete(row.dataset.group) : open.add(row.dataset.group);
      refresh();
      return;
    }
    rows.forEach(r => r.classList.remove('selected'));
    row.classList.add('selected');
    const details = document.getElementById('details');
    details.textContent = JSON.stringify(spans[row.dataset.spanId], null, 2);
    details.style.display = 'block';
  });
}
if (location.hash === '#expand') rows.forEach(r => r.dataset.group && open.add(r.dataset.group));
refresh();
window.addEventListener('resize', measure);
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'">
<style>{style}</style></head>
<body data-total-ms="{total_ms}">
<h1>{title} <small>({spans} spans)</small></h1>
{explanation}
<div class="axis"><div class="label"></div><div class="track">{ticks}</div></div>
<div id="rows">
{rows}
</div>
<pre id="details"></pre>
<script type="application/json" id="spans">{data}</script>
<script>{script}</script>
</body></html>
"""
