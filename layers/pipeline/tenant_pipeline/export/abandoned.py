"""A continuation Lambda gave up on: the record its on-failure destination receives.

A long export goes on in an asynchronous invocation of itself. When that invocation keeps failing
(Lambda retries it, then gives up) or waits in Lambda's queue past its maximum age, Lambda sends an
invocation record to the function's on-failure destination:
`{"requestContext": {"condition": "RetriesExhausted", ...}, "requestPayload": {...},
"responsePayload": {"errorType": ..., "errorMessage": ...}}`. Nothing else would ever finish that job,
so the record ends it FAILED with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenant_pipeline.export.errors import ExportError, InvalidExportRequestError
from tenant_pipeline.export.request import CONTINUE_FIELD


class ContinuationAbandonedError(ExportError):
    """Lambda gave up on an asynchronous continuation of the export."""


_CONDITIONS = {
    "RetriesExhausted": "failed on every attempt",
    "EventAgeExceeded": "waited in Lambda's queue past its maximum age",
}


@dataclass(frozen=True)
class AbandonedContinuation:
    """Which export job was left running, and why Lambda stopped trying."""

    tenant_id: Any
    job_id: Any
    reason: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AbandonedContinuation:
        """Parse an on-failure destination record; raises `InvalidExportRequestError` for any other shape."""
        context = record.get("requestContext")
        payload = record.get("requestPayload")
        if not isinstance(context, Mapping) or not isinstance(payload, Mapping):
            raise InvalidExportRequestError(
                "not a Lambda invocation record: no requestContext/requestPayload"
            )
        if payload.get(CONTINUE_FIELD) is not True:
            raise InvalidExportRequestError("the failed invocation was not an export continuation")
        condition = str(context.get("condition") or "unknown condition")
        what = _CONDITIONS.get(condition, condition)
        attempts = context.get("approximateInvokeCount")
        reason = f"the export's continuation {what}"
        if isinstance(attempts, int):
            reason += f" ({attempts} attempts)"
        response = record.get("responsePayload")
        if isinstance(response, Mapping) and response.get("errorMessage"):
            error_type = response.get("errorType") or "Error"
            reason += f": {error_type}: {str(response['errorMessage'])[:500]}"
        return cls(tenant_id=payload.get("tenant_id"), job_id=payload.get("job_id"), reason=reason)


def is_invocation_record(event: Mapping[str, Any]) -> bool:
    """An on-failure destination record (as opposed to an export request or a continuation)."""
    return "requestContext" in event and "requestPayload" in event
