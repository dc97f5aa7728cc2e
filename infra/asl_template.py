"""Amazon States Language files with `${Name}` placeholders, written once and used as-is.

The CDK app hands the file and its values to CloudFormation (`DefinitionSubstitutions`), so the
deployed definition is the file itself; `substitute` renders the same file with concrete values
wherever CloudFormation is not there to do it (validation, the local AWS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""CloudFormation's `DefinitionSubstitutions` syntax; JSONPath `$.x` and `${Token[...]}` never match."""


class DefinitionNotFoundError(FileNotFoundError):
    """The state machine definition file does not exist."""


class InvalidDefinitionError(ValueError):
    """The definition is not a JSON object with `StartAt` and `States`."""


class MissingSubstitutionError(KeyError):
    """The definition uses a placeholder that no value was given for."""


@dataclass(frozen=True)
class StateMachineDefinition:
    """A definition as written, with the values for every placeholder it uses (and only those)."""

    text: str
    substitutions: Mapping[str, str]

    def render(self) -> str:
        """The definition with every placeholder replaced by its value."""
        return substitute(self.text, self.substitutions)


def placeholders(text: str) -> frozenset[str]:
    """The placeholder names used in `text`."""
    return frozenset(PLACEHOLDER.findall(text))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replaces each `${Name}` with `values[Name]` in one pass (values are never re-scanned)."""
    missing = placeholders(text) - values.keys()
    if missing:
        raise MissingSubstitutionError(f"no value for placeholder(s): {', '.join(sorted(missing))}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def load_definition(path: Path, available: Mapping[str, str]) -> StateMachineDefinition:
    """Reads `path`, checks it is an ASL document and that `available` covers all its placeholders."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DefinitionNotFoundError(f"state machine definition not found: {path}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDefinitionError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or "StartAt" not in document or "States" not in document:
        raise InvalidDefinitionError(f"{path} is not a state machine: it needs 'StartAt' and 'States'")
    used = placeholders(text)
    missing = used - available.keys()
    if missing:
        raise MissingSubstitutionError(
            f"{path.name} uses placeholder(s) with no value: {', '.join(sorted(missing))}; "
            f"available: {', '.join(sorted(available))}"
        )
    return StateMachineDefinition(
        text=text, substitutions=MappingProxyType({name: available[name] for name in sorted(used)})
    )
