"""How an import ends, from its counts: the one rule the pipeline and `tenantctl validate` share."""

from __future__ import annotations

from tenant_pipeline.store.jobs import JobStatus


def validation_failure(
    total: int, invalid: int, max_invalid_ratio: float, rejected: str | None
) -> str | None:
    """Why a validated file loads nothing (FAILED_VALIDATION), or None when its valid rows are loaded."""
    if rejected is not None:
        return rejected
    if total == 0:
        return "the file has no data rows"
    ratio = invalid / total
    if ratio > max_invalid_ratio:
        return (
            f"{invalid} of {total} rows are invalid ({ratio:.1%}), over the tenant's "
            f"limit of {max_invalid_ratio:.1%}; nothing was loaded"
        )
    return None


def loaded_status(invalid: int) -> JobStatus:
    """The status of an import whose valid rows were all stored."""
    return JobStatus.PARTIAL if invalid else JobStatus.SUCCEEDED
