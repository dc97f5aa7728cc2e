"""Which uploads under `tenants/` can become an import job, and a record of those that cannot.

An upload becomes a job when its key names a tenant of the directory under its `imports/` folder: the
tenant can then see the job, and its refusal if any. Every other upload (a key with no valid tenant
segment, a wrong folder such as `import/`, an unknown or erased tenant) is recorded with its key and
reason in the operator's log of rejected uploads, never as a tenant's job.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable

from tenant_pipeline.errors import UnknownTenantError
from tenant_pipeline.imports.keys import IMPORTS_SEGMENT
from tenant_pipeline.store.keys import TENANT_ID_PATTERN
from tenant_pipeline.store.rejects import RejectedUpload, RejectsLog
from tenant_pipeline.store.tenants import TenantDirectory, now_iso

logger = logging.getLogger(__name__)
EXPECTED_LAYOUT = "tenants/{tenant}/imports/{entity}/{file}"


def key_layout_problem(key: str) -> str | None:
    """Why a key cannot be attributed to a tenant's import folder, or None when it can."""
    parts = key.split("/")
    if parts[0] != "tenants" or len(parts) < 2:
        return f"key is not under tenants/: expected {EXPECTED_LAYOUT}"
    if not TENANT_ID_PATTERN.fullmatch(parts[1]):
        return f"tenant segment {parts[1][:80]!r} is not a tenant id ({TENANT_ID_PATTERN.pattern})"
    if len(parts) < 3 or not parts[2]:
        return f"key has no folder under the tenant: expected {EXPECTED_LAYOUT}"
    if parts[2] != IMPORTS_SEGMENT:
        close = difflib.get_close_matches(parts[2].lower(), [IMPORTS_SEGMENT], n=1, cutoff=0.6)
        hint = f" (did you mean {IMPORTS_SEGMENT!r}?)" if close else ""
        return f"folder {parts[2][:80]!r} is not {IMPORTS_SEGMENT!r}{hint}: expected {EXPECTED_LAYOUT}"
    return None


class UploadGate:
    """Screens a notified upload before any job exists; records the ones that cannot become a job."""

    def __init__(
        self, tenants: TenantDirectory, rejects: RejectsLog, clock: Callable[[], str] = now_iso
    ) -> None:
        self._tenants = tenants
        self._rejects = rejects
        self._clock = clock

    def screen(self, bucket: str, key: str, version: str | None) -> str | None:
        """None when the upload may become a job; otherwise the reason, recorded once."""
        reason = key_layout_problem(key) or self._tenant_problem(key.split("/")[1])
        if reason is None:
            return None
        parts = key.split("/")
        claimed = parts[1][:80] if len(parts) > 1 and parts[0] == "tenants" else None
        rejected = RejectedUpload(
            bucket=bucket,
            key=key[:1024],
            version=version or "",
            reason=reason,
            recorded_at=self._clock(),
            claimed_tenant=claimed or None,
        )
        self._rejects.record(rejected)
        logger.warning("upload rejected", extra={"key": key[:300], "reason": reason})
        return reason

    def _tenant_problem(self, tenant_id: str) -> str | None:
        try:
            self._tenants.get(tenant_id)
        except UnknownTenantError:
            tombstone = self._tenants.tombstone(tenant_id)
            if tombstone is not None:
                return (
                    f"tenant {tenant_id!r} was deleted at {tombstone.deleted_at} "
                    f"(job {tombstone.job_id}); its uploads are refused"
                )
            return f"unknown tenant {tenant_id!r}"
        return None
