"""`tenantctl entities` and `tenantctl entities show ENTITY`: what each entity type expects of a file.

Read from the entity schemas shipped with this installation: no AWS is needed.
"""

from __future__ import annotations

import argparse
from typing import Any

from tenant_pipeline.entities import UnknownEntityError, entity_names, load_entity
from tenantctl.entity_columns import columns, describe_entity
from tenantctl.errors import InvalidArgumentError
from tenantctl.output import print_json, print_lines, table

_LIST_COLUMNS = (
    ("entity", "ENTITY"),
    ("version", "VERSION"),
    ("column_count", "COLUMNS"),
    ("required", "REQUIRED"),
    ("description", "DESCRIPTION"),
)
_SHOW_COLUMNS = (
    ("position", "#"),
    ("name", "COLUMN"),
    ("type", "TYPE"),
    ("required", "REQUIRED"),
    ("constraints", "CONSTRAINTS"),
    ("accepted_names", "ACCEPTED NAMES"),
)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "entities",
        parents=parents,
        help="entity types and the columns they expect",
        description="Without a command, list the entity types; `show ENTITY` lists its columns in file order "
        "with type, whether required, constraints and the header names accepted for each.",
    )
    parser.set_defaults(handler=_list)
    commands = parser.add_subparsers(dest="entities_command", metavar="COMMAND")
    show = commands.add_parser("show", parents=parents, help="one entity type's columns")
    show.add_argument("entity", metavar="ENTITY")
    show.set_defaults(handler=_show)


def _list(args: argparse.Namespace) -> int:
    entities = [describe_entity(load_entity(name)) for name in entity_names()]
    if args.json:
        print_json(entities)
        return 0
    rows = [
        {
            **entity,
            "column_count": len(entity["columns"]),
            "required": [column["name"] for column in entity["columns"] if column["required"]],
        }
        for entity in entities
    ]
    print_lines(table(rows, _LIST_COLUMNS))
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        schema = load_entity(args.entity)
    except UnknownEntityError as exc:
        raise InvalidArgumentError(str(exc)) from None
    if args.json:
        print_json(describe_entity(schema))
        return 0
    rows = [
        {
            **column.to_dict(),
            "name": f"{column.name} (key)" if column.primary_key else column.name,
            "required": "yes" if column.required else "no",
            "constraints": column.constraints_text(),
        }
        for column in columns(schema)
    ]
    header = f"{schema.name} (version {schema.version}): {schema.raw.get('description') or ''}".rstrip(": ")
    print_lines([header, *table(rows, _SHOW_COLUMNS)])
    if not schema.raw.get("additionalProperties", True):
        print("columns not listed here are refused")
    return 0
