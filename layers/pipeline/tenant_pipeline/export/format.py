"""The export formats and the names of the files they produce."""

from __future__ import annotations

from enum import StrEnum

from tenant_pipeline.export.errors import InvalidExportRequestError


class ExportFormat(StrEnum):
    """A file format an export can write."""

    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"

    @classmethod
    def parse(cls, name: object) -> ExportFormat:
        """The format named `name` (case-insensitive); raises `InvalidExportRequestError` otherwise."""
        if isinstance(name, str):
            try:
                return cls(name.strip().lower())
            except ValueError:
                pass
        choices = ", ".join(member.value for member in cls)
        raise InvalidExportRequestError(f"unsupported export format {name!r}: choose one of {choices}")

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    def file_name(self, entity: str, *, gzip: bool) -> str:
        """`<entity>.<format>`, plus `.gz` when compressed."""
        return f"{entity}.{self.value}.gz" if gzip else f"{entity}.{self.value}"


_CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSONL: "application/x-ndjson",
    ExportFormat.JSON: "application/json",
}
