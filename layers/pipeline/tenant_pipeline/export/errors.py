"""Failures of the export pipeline; `str()` is the reason shown to the caller and stored on the job."""

from __future__ import annotations

from tenant_pipeline.errors import PipelineError


class ExportError(PipelineError):
    """Base of every export failure."""


class InvalidExportRequestError(ExportError):
    """The export request names no entity, an unsupported format, or is malformed."""


class UploadFailedError(ExportError):
    """Writing an export file to S3 failed; the partial upload was aborted."""


class ExportNotFoundError(ExportError):
    """No export job or manifest exists under this id."""


class ChecksumMismatchError(ExportError):
    """A downloaded export file does not match the byte count or SHA-256 in its manifest."""
