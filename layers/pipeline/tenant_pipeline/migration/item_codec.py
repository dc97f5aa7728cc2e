"""A JSON-safe, canonical form of DynamoDB items in their typed (`AttributeValue`) shape.

Snapshots carry items in this form and the checksum hashes it, so the copy keeps every type exactly
(numbers stay decimal strings, binaries stay bytes, sets stay sets) and two equal items always
encode to the same bytes: map keys sorted, set members sorted, no insignificant whitespace.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

Item = dict[str, Any]
"""A DynamoDB item as the low-level client returns it: attribute name -> `AttributeValue`."""


def to_json_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """One `AttributeValue` as JSON-safe data (binaries base64, set members sorted)."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {kind: base64.b64encode(bytes(raw)).decode("ascii")}
    if kind == "BS":
        return {kind: sorted(base64.b64encode(bytes(member)).decode("ascii") for member in raw)}
    if kind in ("SS", "NS"):
        return {kind: sorted(raw)}
    if kind == "M":
        return {kind: {name: to_json_value(member) for name, member in raw.items()}}
    if kind == "L":
        return {kind: [to_json_value(member) for member in raw]}
    return {kind: raw}


def from_json_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of `to_json_value`."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {kind: base64.b64decode(raw)}
    if kind == "BS":
        return {kind: [base64.b64decode(member) for member in raw]}
    if kind == "M":
        return {kind: {name: from_json_value(member) for name, member in raw.items()}}
    if kind == "L":
        return {kind: [from_json_value(member) for member in raw]}
    return {kind: raw}


def encode_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_json_value(value) for name, value in item.items()}


def decode_item(data: Mapping[str, Any]) -> Item:
    return {name: from_json_value(value) for name, value in data.items()}


def canonical_bytes(item: Mapping[str, Any]) -> bytes:
    """The bytes the checksum hashes: one canonical JSON document per item."""
    return json.dumps(encode_item(item), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_line(item: Mapping[str, Any]) -> bytes:
    """One snapshot line (JSON Lines): the canonical encoding and a newline."""
    return canonical_bytes(item) + b"\n"
