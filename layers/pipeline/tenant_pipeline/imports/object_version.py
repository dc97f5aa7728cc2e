"""Which object version an import job is for.

With a versioned bucket every upload is a new version, so a deliberate re-upload of identical bytes (same
ETag) is a new job, while duplicate notifications of one version stay one job. A notification may omit the
version id (the local AWS's do); then the version the validator read names the job.
"""

from __future__ import annotations

UNVERSIONED = "null"
"""What S3 reports for an object written before versioning was enabled: no version at all."""


def object_version(notified: str | None, read: str | None) -> str | None:
    """The notified version id, else the one read, else None (the caller falls back to the ETag)."""
    for version in (notified, read):
        if version and version != UNVERSIONED:
            return version
    return None
