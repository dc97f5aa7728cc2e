"""Entity types, declared as data: one JSON Schema (draft 2020-12) file per entity in this folder.

Adding an entity is adding `<name>.json` here with `x-primary-key` (the id field) and optionally
`x-version`. A property may list other names a CSV header may give it (`x-aliases`: "E-mail",
"Email Address"); names match case- and space-insensitively. The schema is read once per process;
`tenant_pipeline.validation` compiles it into per-column rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "ALIASES_KEYWORD",
    "EntitySchema",
    "InvalidEntitySchemaError",
    "UnknownEntityError",
    "entity_names",
    "load_entity",
    "name_key",
]

_FOLDER = Path(__file__).resolve().parent
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ALIASES_KEYWORD = "x-aliases"


def name_key(name: str) -> str:
    """How column names compare: case-insensitively, ignoring spaces ("E-Mail " matches "e-mail")."""
    return "".join(name.split()).casefold()


class UnknownEntityError(LookupError):
    """No entity schema file exists for the requested entity type."""


class InvalidEntitySchemaError(ValueError):
    """An entity schema file is malformed (no primary key, not an object schema, ...)."""


@dataclass(frozen=True)
class EntitySchema:
    """One entity type: its columns in schema order, the required ones and the primary key."""

    name: str
    version: int
    primary_key: str
    columns: tuple[str, ...]
    required: frozenset[str]
    raw: MappingProxyType[str, Any] = field(repr=False, compare=False)
    accepted: MappingProxyType[str, str] = field(
        repr=False, compare=False, default_factory=lambda: MappingProxyType({})
    )
    """`name_key` of every accepted header name (a column's own name and its aliases) -> the column."""

    def aliases(self, column: str) -> tuple[str, ...]:
        """The other names a CSV header may give `column`."""
        return tuple(self.raw["properties"][column].get(ALIASES_KEYWORD, ()))

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> EntitySchema:
        """Build from a parsed schema document, checking the few facts the pipeline relies on."""
        props = raw.get("properties")
        if raw.get("type") != "object" or not isinstance(props, dict) or not props:
            raise InvalidEntitySchemaError(f"entity {name!r}: schema must be an object with properties")
        primary_key = raw.get("x-primary-key")
        required = frozenset(raw.get("required", ()))
        if primary_key not in props or primary_key not in required:
            raise InvalidEntitySchemaError(f"entity {name!r}: x-primary-key must name a required property")
        if not required <= props.keys():
            raise InvalidEntitySchemaError(f"entity {name!r}: required names unknown properties")
        return cls(
            name=name,
            version=int(raw.get("x-version", 1)),
            primary_key=str(primary_key),
            columns=tuple(props),
            required=required,
            raw=MappingProxyType(raw),
            accepted=MappingProxyType(_accepted_names(name, props)),
        )


def _accepted_names(entity: str, props: dict[str, Any]) -> dict[str, str]:
    accepted: dict[str, str] = {}
    for column, spec in props.items():
        aliases = spec.get(ALIASES_KEYWORD, [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise InvalidEntitySchemaError(f"entity {entity!r}: {column}.{ALIASES_KEYWORD} must list names")
        for accepted_name in (column, *aliases):
            other = accepted.setdefault(name_key(accepted_name), column)
            if other != column:
                raise InvalidEntitySchemaError(
                    f"entity {entity!r}: {accepted_name!r} is accepted for both {other!r} and {column!r}"
                )
    return accepted


def entity_names() -> list[str]:
    """Names of all shipped entity types, sorted."""
    return sorted(p.stem for p in _FOLDER.glob("*.json") if _NAME.match(p.stem))


@cache
def load_entity(name: str) -> EntitySchema:
    """The entity schema named `name`; raises `UnknownEntityError` for anything not shipped."""
    # The name often comes from an object key: only plain names can reach the file system.
    if not isinstance(name, str) or not _NAME.match(name) or name not in entity_names():
        raise UnknownEntityError(f"unknown entity type {name!r} (known: {', '.join(entity_names())})")
    with (_FOLDER / f"{name}.json").open(encoding="utf-8") as f:
        return EntitySchema.from_dict(name, json.load(f))
