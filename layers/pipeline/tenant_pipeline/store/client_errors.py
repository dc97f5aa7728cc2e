"""Reading `ClientError` codes: only the store adapters (and S3 reads in `imports/`) call this."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tenant_pipeline.errors import StoreError, ThrottledError

THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "SlowDown",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_conditional_failure(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def as_store_error(exc: ClientError, action: str) -> StoreError:
    """The domain exception for a `ClientError` no adapter handles specifically."""
    code = error_code(exc)
    if code in THROTTLE_CODES:
        return ThrottledError(f"{action}: throttled ({code})")
    return StoreError(f"{action}: {code or 'error'}: {exc}")
