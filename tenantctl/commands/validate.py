"""`tenantctl validate FILE --entity E`: check a file before uploading it, with no AWS at all.

The same reader and rules as the import pipeline (`validate_stream`) and the same verdict
(`imports.verdict`), so the status printed is the one the import would end with. Exit 0 when the file
would import (SUCCEEDED or PARTIAL), 1 when it would fail (FAILED_VALIDATION).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenant_pipeline import topology
from tenant_pipeline.entities import UnknownEntityError, load_entity
from tenant_pipeline.formats import FileFormat, FileRejectedError, UnsupportedFormatError
from tenant_pipeline.imports.report import ErrorReport
from tenant_pipeline.imports.verdict import loaded_status, validation_failure
from tenant_pipeline.store.jobs import JobStatus
from tenant_pipeline.validation import InvalidRow, validate_stream
from tenant_pipeline.validation.header import check_mapping
from tenantctl.commands.tenants import mapping_pairs
from tenantctl.errors import InvalidArgumentError
from tenantctl.output import print_json

SHOWN_ERRORS = 10


@dataclass
class FileCheck:
    """What validating a file found, as the import would count it."""

    total_rows: int = 0
    invalid: int = 0
    rejected: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, status: JobStatus, reason: str | None) -> dict[str, Any]:
        return {
            "total_rows": self.total_rows,
            "valid": self.total_rows - self.invalid,
            "invalid": self.invalid,
            "status": status.value,
            "reason": reason,
            "errors": self.errors,
        }


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        parents=parents,
        help="check a file locally before uploading it",
        description="Read FILE with the import pipeline's reader and rules, print the counts, the status the "
        "import would end with and the first errors. Needs no AWS. Exit 0 when the file would import, 1 when "
        "it would fail.",
    )
    parser.add_argument("file", metavar="FILE", help="a .csv, .jsonl or .json file, optionally .gz")
    parser.add_argument("--entity", required=True, metavar="E", help="entity type (see `tenantctl entities`)")
    parser.add_argument("--report", metavar="PATH", help="also write every error to this CSV (default: none)")
    parser.add_argument(
        "--max-invalid-ratio",
        type=float,
        default=topology.DEFAULT_MAX_INVALID_RATIO,
        metavar="F",
        help=f"the tenant's limit on invalid rows (default {topology.DEFAULT_MAX_INVALID_RATIO})",
    )
    parser.add_argument(
        "--map",
        dest="pairs",
        metavar="NAME=COLUMN",
        nargs="+",
        default=[],
        help="header names of your own, as `tenants set-mapping` records them (default: none)",
    )
    parser.set_defaults(handler=_validate)


def check_file(path: Path, entity_name: str, mapping: dict[str, str], report: ErrorReport) -> FileCheck:
    """Validate the file as the pipeline does; every error goes to `report`, the first few to the result."""
    try:
        entity = load_entity(entity_name)
        fmt = FileFormat.from_key(path.name)
        check_mapping(entity, mapping)
    except (UnknownEntityError, UnsupportedFormatError, ValueError) as exc:
        raise InvalidArgumentError(str(exc)) from None
    found = FileCheck()
    try:
        with path.open("rb") as stream:
            for outcome in validate_stream(stream, fmt, entity, mapping=mapping):
                found.total_rows += 1
                if isinstance(outcome, InvalidRow):
                    found.invalid += 1
                    report.add_row_errors(outcome.line, outcome.errors)
                    if len(found.errors) < SHOWN_ERRORS:
                        found.errors += [
                            {"line": outcome.line, "field": e.field, "reason": e.reason}
                            for e in outcome.errors
                        ]
    except FileRejectedError as exc:
        found.rejected = str(exc) or type(exc).__name__
        report.add("", "file", "", found.rejected)
        found.errors.append({"line": None, "field": "file", "reason": found.rejected})
    return found


def _validate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InvalidArgumentError(f"no such file: {args.file}")
    if not 0.0 <= args.max_invalid_ratio <= 1.0:
        raise InvalidArgumentError(
            f"--max-invalid-ratio must be between 0 and 1, got {args.max_invalid_ratio}"
        )
    with ErrorReport() as report:
        found = check_file(path, args.entity, mapping_pairs(args.pairs), report)
        if args.report:
            report.save(args.report)
    reason = validation_failure(found.total_rows, found.invalid, args.max_invalid_ratio, found.rejected)
    status = JobStatus.FAILED_VALIDATION if reason else loaded_status(found.invalid)
    result = found.to_dict(status, reason)
    if args.json:
        print_json(result)
    else:
        _print(result, path, args.report)
    return 1 if reason else 0


def _print(result: dict[str, Any], path: Path, report: str | None) -> None:
    print(f"{path.name}: {result['total_rows']} rows, {result['valid']} valid, {result['invalid']} invalid")
    print(f"an import would end {result['status']}" + (f": {result['reason']}" if result["reason"] else ""))
    for error in result["errors"]:
        if error["line"] is not None:  # (a whole-file reason is the status line's)
            print(f"  line {error['line']}  {error['field']}: {error['reason']}")
    if result["invalid"] > len({e["line"] for e in result["errors"]}):
        print("  …" + (f" every error is in {report}" if report else " (--report PATH writes every error)"))
