"""Reads the local span file (JSON lines) and draws one trace as a tree that fits a screen: start offsets,
repeated siblings collapsed into one line with their statistics, and the gaps no span covers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantctl.errors import NoSpansError
from tenantctl.trace_timing import (
    DurationStats,
    Gap,
    human_duration,
    human_offset,
    telling_gaps,
    uncovered_gaps,
)

MAX_LINES = 40
"""A default drawing fits one screen."""
COLLAPSE_AT = 3
"""Siblings of one name this many or more share one line."""
GAPS_SHOWN = 3
"""The longest gaps under a span that get a line of their own."""

_MAX_LINKS_SHOWN = 3
_ATTRIBUTES_SHOWN = (
    "tenant.id",
    "import.entity_type",
    "import.status",
    "import.batch_number",
    "messaging.batch.message_count",
    "export.record_count",
    "migration.status",
)


@dataclass
class SpanNode:
    """A span of the file, with its children once the tree is built."""

    record: dict[str, Any]
    children: list[SpanNode] = field(default_factory=list)

    @property
    def span_id(self) -> str:
        return str(self.record.get("span_id", ""))

    @property
    def parent_span_id(self) -> str | None:
        parent = self.record.get("parent_span_id")
        return str(parent) if parent else None

    @property
    def start_ns(self) -> int:
        return int(self.record.get("start_time_unix_nano") or 0)

    @property
    def end_ns(self) -> int:
        return max(self.start_ns, int(self.record.get("end_time_unix_nano") or 0))

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    @property
    def name(self) -> str:
        return str(self.record.get("name", "?"))


def read_spans(path: Path, trace_id: str) -> list[dict[str, Any]]:
    """Every span of `trace_id` in the file, in start order (malformed lines are skipped)."""
    if not path.is_file():
        raise NoSpansError(f"no span file at {path}")
    spans = [span for span in _records(path) if span.get("trace_id") == trace_id]
    if not spans:
        raise NoSpansError(f"no span of trace {trace_id} in {path}")
    return sorted(spans, key=lambda span: int(span.get("start_time_unix_nano") or 0))


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def build_tree(spans: Iterable[Mapping[str, Any]]) -> list[SpanNode]:
    """Roots first: spans whose parent is not in the file (the uploader's, for an import) are roots."""
    nodes = {str(span.get("span_id")): SpanNode(dict(span)) for span in spans}
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_span_id or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda child: child.start_ns)
    return sorted(roots, key=lambda root: root.start_ns)


def render_tree(roots: Iterable[SpanNode], *, expand_all: bool = False) -> list[str]:
    """One line per span or per group of same-named siblings, each with its start offset from the
    trace's first span, plus the gaps no child covers. `expand_all` draws every span and every gap."""
    ordered = list(roots)
    if not ordered:
        return []
    names: dict[str, str] = {}
    for root in ordered:
        names.update(_names(root))
    view = _View(origin_ns=min(root.start_ns for root in ordered), names=names, expand_all=expand_all)
    lines: list[str] = []
    for root in ordered:
        lines.extend(view.group([root], prefix="", is_last=True, is_root=True))
    return lines


def fit_screen(lines: Sequence[str], limit: int = MAX_LINES) -> list[str]:
    """At most `limit` lines; the last one then says how many were left out."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[: limit - 1], f"… {len(lines) - limit + 1} more lines: --all draws every span"]


def _names(node: SpanNode) -> dict[str, str]:
    found = {node.span_id: node.name}
    for child in node.children:
        found.update(_names(child))
    return found


@dataclass(frozen=True)
class _Item:
    """One entry under a parent: a group of same-named siblings (often of one span), or a gap."""

    start_ns: int
    members: list[SpanNode] | None = None
    gap: Gap | None = None
    note: str = ""


@dataclass(frozen=True)
class _View:
    origin_ns: int
    names: Mapping[str, str]
    expand_all: bool

    def group(self, members: list[SpanNode], *, prefix: str, is_last: bool, is_root: bool) -> list[str]:
        branch = "" if is_root else ("└─ " if is_last else "├─ ")
        first = members[0]
        text = _describe(first) if len(members) == 1 else _describe_group(members)
        lines = [self._line(first.start_ns, f"{prefix}{branch}{text}")]
        child_prefix = prefix if is_root else prefix + ("   " if is_last else "│  ")
        lines.extend(self._links(members, child_prefix))
        items = self._items(members)
        for index, item in enumerate(items):
            last = index == len(items) - 1
            if item.members is not None:
                lines.extend(self.group(item.members, prefix=child_prefix, is_last=last, is_root=False))
            else:
                mark = "└─ " if last else "├─ "
                offset = item.start_ns if item.gap is not None else None
                lines.append(self._line(offset, f"{child_prefix}{mark}{item.note}"))
        return lines

    def _items(self, members: list[SpanNode]) -> list[_Item]:
        children = [child for member in members for child in member.children]
        by_name: dict[str, list[SpanNode]] = {}
        for child in sorted(children, key=lambda node: node.start_ns):
            by_name.setdefault(child.name, []).append(child)
        items: list[_Item] = []
        for siblings in by_name.values():
            if self.expand_all or len(siblings) < COLLAPSE_AT:
                items.extend(_Item(node.start_ns, members=[node]) for node in siblings)
            else:
                items.append(_Item(siblings[0].start_ns, members=siblings))
        if len(members) == 1 and children:
            items.extend(self._gap_items(members[0]))
        return sorted(items, key=lambda item: (item.start_ns, item.gap is not None))

    def _gap_items(self, node: SpanNode) -> list[_Item]:
        gaps = uncovered_gaps(node.start_ns, node.end_ns, ((c.start_ns, c.end_ns) for c in node.children))
        limit = len(gaps) if self.expand_all else GAPS_SHOWN
        shown, hidden = telling_gaps(gaps, node.duration_ms, limit=limit)
        items = [
            _Item(gap.start_ns, gap=gap, note=f"·· gap {human_duration(gap.duration_ms)}: no span covers it")
            for gap in shown
        ]
        if hidden:
            total = sum(gap.duration_ms for gap in hidden)
            note = f"·· {len(hidden)} more gaps, {human_duration(total)} in all (--all lists them)"
            items.append(_Item(node.end_ns, note=note))
        return items

    def _links(self, members: list[SpanNode], prefix: str) -> list[str]:
        links = [link for member in members for link in member.record.get("links") or []]
        if len(members) > 1:
            if not links:
                return []
            traces = sorted({str(link.get("trace_id")) for link in links})
            shown = ", ".join(traces[:_MAX_LINKS_SHOWN]) + (" …" if len(traces) > _MAX_LINKS_SHOWN else "")
            return [self._line(None, f"{prefix}   ↳ {len(links)} links to trace {shown}")]
        lines = []
        for link in links[:_MAX_LINKS_SHOWN]:
            target = self.names.get(str(link.get("span_id")))
            where = target or f"trace {link.get('trace_id')} span"
            lines.append(self._line(None, f"{prefix}   ↳ link to {where} {link.get('span_id')}"))
        if len(links) > _MAX_LINKS_SHOWN:
            lines.append(self._line(None, f"{prefix}   ↳ … {len(links) - _MAX_LINKS_SHOWN} more links"))
        return lines

    def _line(self, start_ns: int | None, text: str) -> str:
        offset = "" if start_ns is None else human_offset((start_ns - self.origin_ns) / 1e6)
        return f"{offset:>10}  {text}"


def _describe(node: SpanNode) -> str:
    record = node.record
    status = (record.get("status") or {}).get("code", "UNSET")
    attributes = record.get("attributes") or {}
    shown = " ".join(f"{key}={attributes[key]}" for key in _ATTRIBUTES_SHOWN if key in attributes)
    text = f"{node.name}  {human_duration(node.duration_ms)}"
    if status == "ERROR":
        description = (record.get("status") or {}).get("description") or ""
        text += f"  ERROR {description}".rstrip()
    if shown:
        text += f"  [{shown}]"
    return text


def _describe_group(members: list[SpanNode]) -> str:
    stats = DurationStats.of([member.duration_ms for member in members])
    errors = sum(1 for member in members if (member.record.get("status") or {}).get("code") == "ERROR")
    text = f"{members[0].name}  {stats.count} spans  {stats.describe()}"
    return text + (f"  {errors} ERROR" if errors else "")
