"""DynamoDB typed attribute maps built straight from validated rows.

The hot loop of the loader: no boto3 `TypeSerializer`, no per-value type inspection for the
schema's scalar columns. Each column's DynamoDB type is decided once per entity from its JSON Schema
type; numbers travel in batch messages as JSON numbers or decimal strings and are stored as `N`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tenant_pipeline.store.keys import shard_of
from tenant_pipeline.store.tenant_data import Item

_NUMBER_TYPES = frozenset({"integer", "number"})


def column_kind(property_schema: Mapping[str, Any]) -> str:
    """`S`, `N`, `BOOL`, or `ANY` (nested values, typed per value) for one schema property."""
    declared = property_schema.get("type", "string")
    types = {declared} if isinstance(declared, str) else set(declared)
    types.discard("null")
    if types and types <= _NUMBER_TYPES:
        return "N"
    if types == {"string"}:
        return "S"
    if types == {"boolean"}:
        return "BOOL"
    return "ANY"


def to_attribute(value: Any) -> dict[str, Any]:
    """Typed attribute of any JSON-like value (the slow path, for nested or untyped columns)."""
    attribute: dict[str, Any]
    if isinstance(value, bool):
        attribute = {"BOOL": value}
    elif isinstance(value, int | Decimal | float):
        attribute = {"N": str(value)}
    elif value is None:
        attribute = {"NULL": True}
    elif isinstance(value, Mapping):
        attribute = {"M": {str(key): to_attribute(item) for key, item in value.items()}}
    elif isinstance(value, list | tuple):
        attribute = {"L": [to_attribute(item) for item in value]}
    else:
        attribute = {"S": str(value)}
    return attribute


@dataclass(frozen=True)
class AttributePlan:
    """How one entity's rows (lists in column order) become items."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    primary_key: str

    @classmethod
    def from_schema(
        cls, columns: Sequence[str], properties: Mapping[str, Any], primary_key: str
    ) -> AttributePlan:
        kinds = tuple(column_kind(properties.get(column, {})) for column in columns)
        return cls(columns=tuple(columns), kinds=kinds, primary_key=primary_key)

    def items(
        self, tenant_id: str, entity: str, rows: Iterable[Sequence[Any]], shard_count: int
    ) -> list[Item]:
        """One item per row; a repeated id keeps the last row (a `BatchWriteItem` call must not
        hold one key twice, and validation already keeps the first of a file's duplicates)."""
        prefix = f"{tenant_id}#{entity}#"
        pk_index = self.columns.index(self.primary_key)
        fields = tuple(zip(self.columns, self.kinds, strict=True))
        items: dict[str, Item] = {}
        for row in rows:
            raw_id = row[pk_index]
            record_id = raw_id if isinstance(raw_id, str) else str(raw_id)
            item: Item = {
                "pk": {"S": prefix + str(shard_of(record_id, shard_count))},
                "sk": {"S": record_id},
            }
            for (name, kind), value in zip(fields, row, strict=True):
                if value is None:
                    continue
                if kind == "S":
                    item[name] = {"S": value}
                elif kind == "N":
                    item[name] = {"N": value if isinstance(value, str) else str(value)}
                elif kind == "BOOL":
                    item[name] = {"BOOL": bool(value)}
                else:
                    item[name] = to_attribute(value)
            items[record_id] = item
        return list(items.values())
