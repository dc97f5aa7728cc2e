"""Domain exceptions of the store adapters and the import pipeline.

`ClientError` codes become these inside `store/` (and the S3 reads of `imports/`), nowhere else. An
exception whose `str()` is shown to users (job `error`, error report) says what is wrong in plain words.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every failure the pipeline names."""


class StoreError(PipelineError):
    """A store call failed for a reason the caller cannot fix by changing its input."""


class ThrottledError(StoreError):
    """The store kept throttling until the time left ran out."""


class WriteIncompleteError(StoreError):
    """Some items of a bulk write were still unprocessed when the time left ran out."""


class InvalidTenantIdError(PipelineError):
    """A tenant id does not match the allowed pattern."""


class UnknownTenantError(PipelineError):
    """The tenant is not in the tenant directory."""


class TenantExistsError(PipelineError):
    """A tenant with this id already exists."""


class TenantStatusConflictError(PipelineError):
    """The tenant's status is not the one the caller expected."""


class UnknownJobError(PipelineError):
    """The job is not in the jobs ledger."""


class ImportRefusedError(PipelineError):
    """An import is refused before its rows are read; `str()` is the reason shown to the tenant."""


class KeyRejectedError(ImportRefusedError):
    """The object key is not a valid import key."""

    def __init__(self, reason: str, tenant_id: str | None = None) -> None:
        super().__init__(reason)
        self.tenant_id = tenant_id
        """The tenant the key can be attributed to (its job gets the reason), or None."""


class TenantNotActiveError(ImportRefusedError):
    """The tenant exists but does not accept imports in its current status."""


class ObjectMissingError(ImportRefusedError):
    """The object was deleted before it could be read."""


class ObjectChangedError(ImportRefusedError):
    """The object was replaced before it could be read; the new version has its own job."""


class ObjectTooLargeError(ImportRefusedError):
    """The object is larger than the configured import size limit."""


class BatchMessageError(PipelineError):
    """A batch message is malformed or points outside its job's claim-check prefix."""


class MissingSettingError(PipelineError):
    """A resource name the caller needs is not configured in the environment."""


class InvalidSettingError(PipelineError):
    """A tunable in the environment has a value the pipeline cannot use."""


class ValidationInProgressError(PipelineError):
    """Another invocation holds the job's validation lease; retry after it ends or expires."""


class ValidationOutOfTimeError(PipelineError):
    """The validation reached its invocation's deadline before reading the whole file."""


class StaleCheckpointError(PipelineError):
    """A validation in legs was begun by an earlier version of the validator, whose checkpoint this one
    cannot go on from."""


class FanoutError(StoreError):
    """Batch messages could not be sent after retries."""
