"""Import keys: `tenants/{tenant}/imports/{entity}/{file}`, exactly, and nothing that escapes it.

The tenant id comes only from the key. A key whose tenant segment is valid (and whose third segment
is `imports`) can be attributed to that tenant, so its refusal gets a job and an error report;
any other key is logged and counted. The pipeline's own objects, error reports and claim-check
batches, live outside the notified `tenants/` prefix (`reports/{tenant}/...`, `batches/{tenant}/...`),
so writing them never notifies anyone; should one reach the validator anyway, it is skipped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from tenant_pipeline.errors import KeyRejectedError
from tenant_pipeline.store.keys import TENANT_ID_PATTERN
from tenant_pipeline.topology import BATCHES_KEY_PREFIX, REPORTS_KEY_PREFIX

IMPORTS_SEGMENT = "imports"
INTERNAL_PREFIXES = (REPORTS_KEY_PREFIX, BATCHES_KEY_PREFIX)
_ENTITY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FILE_PATTERN = re.compile(r"^[A-Za-z0-9_(][A-Za-z0-9._ +()-]{0,254}$")
_MAX_KEY_LENGTH = 1024


@dataclass(frozen=True)
class ImportKey:
    """A valid import key, split."""

    key: str
    tenant_id: str
    entity: str
    file_name: str


def tenant_prefix(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/{IMPORTS_SEGMENT}/"


def report_key(tenant_id: str, job_id: str) -> str:
    """`reports/{tenant}/{job_id}/errors.csv`: the tenant's folder, outside the notified prefix."""
    return f"{REPORTS_KEY_PREFIX}{tenant_id}/{job_id}/errors.csv"


def batches_prefix(tenant_id: str, job_id: str) -> str:
    """`batches/{tenant}/{job_id}/`: claim-check objects, expired by the bucket after a day."""
    return f"{BATCHES_KEY_PREFIX}{tenant_id}/{job_id}/"


def claim_check_key(tenant_id: str, job_id: str, batch_number: int) -> str:
    return f"{batches_prefix(tenant_id, job_id)}{batch_number:06d}.json"


def job_id_for(bucket: str, key: str, version: str) -> str:
    """Deterministic job id: a duplicate notification of the same object version maps to the same job."""
    digest = hashlib.sha256(f"{bucket}\n{key}\n{version}".encode()).hexdigest()
    return f"imp-{digest[:28]}"


def is_internal_key(key: str) -> bool:
    """Objects the pipeline itself writes: error reports and claim-check batches."""
    return key.startswith(INTERNAL_PREFIXES)


def attributable_tenant(key: str) -> str | None:
    """The tenant a key belongs to, if its tenant segment is valid and it is under `imports/`."""
    parts = key.split("/")
    attributable = len(parts) >= 3 and parts[0] == "tenants" and parts[2] == IMPORTS_SEGMENT
    return parts[1] if attributable and TENANT_ID_PATTERN.fullmatch(parts[1]) else None


def parse_import_key(key: str) -> ImportKey:
    """Split a decoded key; raises `KeyRejectedError` (with the tenant, if attributable) otherwise."""
    tenant = attributable_tenant(key)
    if tenant is None:
        raise KeyRejectedError(
            f"key {key[:200]!r} is not under tenants/{{tenant}}/imports/ with a valid tenant id"
        )
    reason = _key_problem(key)
    if reason:
        raise KeyRejectedError(reason, tenant)
    _, _, _, entity, file_name = key.split("/")
    return ImportKey(key=key, tenant_id=tenant, entity=entity, file_name=file_name)


def _key_problem(key: str) -> str | None:
    parts = key.split("/")
    if len(key) > _MAX_KEY_LENGTH:
        problem = f"key is longer than {_MAX_KEY_LENGTH} characters"
    elif not key.isascii() or not key.isprintable():
        problem = "key contains non-ASCII or control characters (look-alike characters are refused)"
    elif any(part in (".", "..") for part in parts):
        problem = "key contains a '.' or '..' segment"
    elif key.endswith("/"):
        problem = "key is a folder marker, not a file"
    elif any(not part for part in parts):
        problem = "key has an empty path segment"
    elif len(parts) != 5:
        problem = "key must be tenants/{tenant}/imports/{entity}/{file}: no sub-folders"
    elif not _ENTITY_PATTERN.fullmatch(parts[3]):
        problem = f"unknown entity {parts[3]!r}"
    elif not _FILE_PATTERN.fullmatch(parts[4]):
        problem = (
            f"file name {parts[4]!r} may contain only letters, digits, space and . _ - + ( ) "
            "and must not start with '.'"
        )
    else:
        problem = None
    return problem
