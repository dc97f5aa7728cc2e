"""Failures the command line reports as one line on stderr, without a traceback."""

from __future__ import annotations


class TenantctlError(Exception):
    """A failure the user can act on; `str()` is the whole message."""

    exit_code = 1


class NotProvisionedError(TenantctlError):
    """The endpoint answers but does not publish this product's resource names."""


class PortInUseError(TenantctlError):
    """The local AWS cannot listen on the requested address."""


class LocalAwsNotRunningError(TenantctlError):
    """No `tenantctl local up` runs from the given state folder, or it would not stop."""


class ServerNotStartedError(TenantctlError):
    """The local AWS was asked for its address before it started."""


class UnknownTenantError(TenantctlError):
    """The tenant is not in the directory."""


class TenantExistsError(TenantctlError):
    """A tenant with this id is already in the directory."""


class InvalidArgumentError(TenantctlError):
    """An argument has a value the command cannot use."""

    exit_code = 2


class InputFileError(TenantctlError):
    """The file to upload cannot be read."""


class UnknownJobError(TenantctlError):
    """No job has this id."""


class UploadRejectedError(TenantctlError):
    """The upload was recorded as one that cannot become a job."""


class JobTimeoutError(TenantctlError):
    """Waiting for a job gave up before the job finished."""


class JobFailedError(TenantctlError):
    """The job finished without storing every row (the job details are printed first)."""


class NoSpansError(TenantctlError):
    """The span file holds no span of the requested job."""


class UnknownQueueError(TenantctlError):
    """The queue name matches none of the product's queues."""


class DemoStepFailedError(TenantctlError):
    """A demo step did not do what it should."""


class NoTimingsRecordedError(TenantctlError):
    """The jobs ledger holds no timings for the job, so it cannot be explained."""
