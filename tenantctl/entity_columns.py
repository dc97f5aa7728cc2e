"""What an entity type expects of a file, column by column, read from its JSON Schema.

Accepted names are the column's own name plus any `x-aliases` the schema lists for it, so a schema
that gains aliases shows them here without a change to this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.entities import EntitySchema

_CONSTRAINTS = (
    "format",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
    "const",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
)
_SHORT = {
    "minLength": "min length",
    "maxLength": "max length",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
    "minimum": ">=",
    "maximum": "<=",
    "multipleOf": "multiple of",
}


@dataclass(frozen=True)
class Column:
    """One column as a user needs it to write a file."""

    position: int
    name: str
    type: str
    required: bool
    primary_key: bool
    constraints: dict[str, Any]
    accepted_names: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "primary_key": self.primary_key,
            "constraints": self.constraints,
            "accepted_names": list(self.accepted_names),
        }

    def constraints_text(self) -> str:
        parts = []
        for keyword, value in self.constraints.items():
            if keyword == "enum":
                parts.append("one of " + "|".join(str(item) for item in value))
            elif keyword == "pattern":
                parts.append(f"pattern {value}")
            elif keyword == "format":
                parts.append(str(value))
            elif keyword == "const":
                parts.append(f"= {json.dumps(value)}")
            else:
                parts.append(f"{_SHORT[keyword]} {value}")
        return "; ".join(parts)


def type_name(spec: Mapping[str, Any]) -> str:
    declared = spec.get("type", "any")
    if isinstance(declared, list):
        return " or ".join(str(item) for item in declared)
    return str(declared)


def columns(schema: EntitySchema) -> list[Column]:
    """The schema's columns in file order, with their rules."""
    properties: Mapping[str, Any] = schema.raw["properties"]
    return [
        Column(
            position=position,
            name=name,
            type=type_name(properties[name]),
            required=name in schema.required,
            primary_key=name == schema.primary_key,
            constraints={key: properties[name][key] for key in _CONSTRAINTS if key in properties[name]},
            accepted_names=(name, *schema.aliases(name)),
        )
        for position, name in enumerate(schema.columns, start=1)
    ]


def describe_entity(schema: EntitySchema) -> dict[str, Any]:
    return {
        "entity": schema.name,
        "version": schema.version,
        "description": schema.raw.get("description"),
        "primary_key": schema.primary_key,
        "additional_columns": bool(schema.raw.get("additionalProperties", True)),
        "columns": [column.to_dict() for column in columns(schema)],
    }
