"""Reads the local span file (JSON lines) and draws one trace as a tree with durations and links."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantctl.errors import NoSpansError

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
    def duration_ms(self) -> float:
        end = int(self.record.get("end_time_unix_nano") or 0)
        return max(0.0, (end - self.start_ns) / 1e6)


def read_spans(path: Path, trace_id: str) -> list[dict[str, Any]]:
    """Every span of `trace_id` in the file, in start order (malformed lines are skipped)."""
    if not path.is_file():
        raise NoSpansError(f"no span file at {path} (spans go there only when no OTLP endpoint is set)")
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


def render_tree(roots: Iterable[SpanNode]) -> list[str]:
    """One line per span: tree branches, name, duration, status and a few telling attributes."""
    names = {}
    lines: list[str] = []
    ordered = list(roots)
    for root in ordered:
        names.update(_names(root))
    for root in ordered:
        lines.extend(_render(root, prefix="", is_last=True, is_root=True, names=names))
    return lines


def _names(node: SpanNode) -> dict[str, str]:
    found = {node.span_id: str(node.record.get("name", "?"))}
    for child in node.children:
        found.update(_names(child))
    return found


def _render(
    node: SpanNode, *, prefix: str, is_last: bool, is_root: bool, names: Mapping[str, str]
) -> list[str]:
    branch = "" if is_root else ("└─ " if is_last else "├─ ")
    lines = [f"{prefix}{branch}{_describe(node)}"]
    child_prefix = prefix if is_root else prefix + ("   " if is_last else "│  ")
    links = node.record.get("links") or []
    for link in links[:_MAX_LINKS_SHOWN]:
        target = names.get(str(link.get("span_id")))
        where = target or f"trace {link.get('trace_id')} span"
        lines.append(f"{child_prefix}   ↳ link to {where} {link.get('span_id')}")
    if len(links) > _MAX_LINKS_SHOWN:
        lines.append(f"{child_prefix}   ↳ … {len(links) - _MAX_LINKS_SHOWN} more links")
    for index, child in enumerate(node.children):
        lines.extend(
            _render(
                child,
                prefix=child_prefix,
                is_last=index == len(node.children) - 1,
                is_root=False,
                names=names,
            )
        )
    return lines


def _describe(node: SpanNode) -> str:
    record = node.record
    status = (record.get("status") or {}).get("code", "UNSET")
    attributes = record.get("attributes") or {}
    shown = " ".join(f"{key}={attributes[key]}" for key in _ATTRIBUTES_SHOWN if key in attributes)
    text = f"{record.get('name', '?')}  {node.duration_ms:.1f} ms"
    if status == "ERROR":
        description = (record.get("status") or {}).get("description") or ""
        text += f"  ERROR {description}".rstrip()
    if shown:
        text += f"  [{shown}]"
    return text
