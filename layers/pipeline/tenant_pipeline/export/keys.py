"""Where an export's files live in the export bucket: one folder per job under the tenant's prefix."""

from __future__ import annotations

MANIFEST_FILE_NAME = "manifest.json"


def export_prefix(tenant_id: str, job_id: str) -> str:
    return f"tenants/{tenant_id}/exports/{job_id}/"


def export_key(tenant_id: str, job_id: str, file_name: str) -> str:
    return export_prefix(tenant_id, job_id) + file_name


def manifest_key(tenant_id: str, job_id: str) -> str:
    return export_key(tenant_id, job_id, MANIFEST_FILE_NAME)
