"""A CSV header matched to an entity's columns, or the clearest reason it can't be.

A header name is accepted for a column when it is the column's name, one of the schema's `x-aliases`
for it, or a name the tenant mapped to it (`tenantctl tenants set-mapping`), compared with
`entities.name_key` (case- and space-insensitively). A header that names no column gets a hint: the
delimiter when the file is not comma-separated, the closest known column for a misspelt name, and
every required column it lacks.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tenant_pipeline.entities import EntitySchema, name_key
from tenant_pipeline.formats.errors import (
    HeaderError,
    MissingColumnError,
    UnknownColumnError,
    WrongDelimiterError,
)

_OTHER_DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "pipes (|)"}


@dataclass(frozen=True)
class HeaderMatch:
    """The entity column of each header position, and the header names that differ from theirs."""

    columns: tuple[str, ...]
    renamed: dict[str, str] = field(default_factory=dict)


def match_header(
    header: Sequence[str], entity: EntitySchema, mapping: Mapping[str, str] | None = None
) -> HeaderMatch:
    """Match every header name to a column; raises a `FileRejectedError` subclass naming what is wrong."""
    accepted = dict(entity.accepted)
    accepted.update((name_key(name), column) for name, column in (mapping or {}).items())
    columns = [accepted.get(name_key(name)) for name in header]
    unknown = [name for name, column in zip(header, columns, strict=True) if column is None]
    if unknown:
        raise _unknown_columns(header, unknown, entity, accepted)
    matched = [column for column in columns if column is not None]
    for position, column in enumerate(matched):
        if column in matched[:position]:
            first = header[matched.index(column)]
            raise HeaderError(f"columns {first!r} and {header[position]!r} both name the {column!r} column")
    missing = [column for column in entity.columns if column in entity.required and column not in matched]
    if missing:
        names = ", ".join(map(repr, missing))
        raise MissingColumnError(
            f"required column{'s' if len(missing) > 1 else ''} {names} missing from the header"
        )
    renamed = {name: column for name, column in zip(header, matched, strict=True) if name != column}
    return HeaderMatch(tuple(matched), renamed)


def _unknown_columns(
    header: Sequence[str], unknown: list[str], entity: EntitySchema, accepted: Mapping[str, str]
) -> UnknownColumnError | WrongDelimiterError:
    if len(header) <= 2:
        for delimiter, label in _OTHER_DELIMITERS.items():
            if any(delimiter in name for name in header):
                return WrongDelimiterError(
                    f"the header {','.join(header)[:120]!r} looks separated by {label}, not commas: "
                    "save the file as comma-separated CSV"
                )
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name_key(name), accepted, n=1, cutoff=0.75)
        hint = f" (did you mean {accepted[close[0]]!r}?)" if close else ""
        hints.append(f"{name!r}{hint}")
    return UnknownColumnError(
        f"header names column{'s' if len(unknown) > 1 else ''} the {entity.name} schema does not know: "
        f"{', '.join(hints)} (known: {', '.join(entity.columns)}; `tenantctl entities show {entity.name}` "
        "lists the accepted names)"
    )


def check_mapping(entity: EntitySchema, mapping: Mapping[str, str]) -> None:
    """Refuse a tenant mapping that names an unknown column or takes a name another column accepts."""
    for name, column in mapping.items():
        if not name.strip():
            raise ValueError("a mapped header name must not be blank")
        if column not in entity.columns:
            raise ValueError(
                f"{name!r} maps to {column!r}, which is not a {entity.name} column "
                f"(known: {', '.join(entity.columns)})"
            )
        taken = entity.accepted.get(name_key(name))
        if taken is not None and taken != column:
            raise ValueError(f"{name!r} already names the {taken!r} column of {entity.name}")
