"""The explanation of a job or a migration, read from the jobs ledger that keeps its timings: one lookup
for `tenantctl explain` and for the page `tenantctl trace --html` draws."""

from __future__ import annotations

import time

from tenant_pipeline.migration.ledger import MigrationRecord
from tenant_pipeline.store.jobs import Job, JobKind
from tenantctl.errors import InvalidArgumentError
from tenantctl.job_explanation import Explanation, explain_export, explain_import, render_explanation
from tenantctl.migration_explanation import (
    MigrationExplanation,
    explain_migration,
    render_migration_explanation,
)
from tenantctl.target import Target

EXPLAINED_KINDS = (JobKind.IMPORT, JobKind.EXPORT)


def explain_job(target: Target, job: Job, region: str) -> Explanation:
    """An import's or an export's explanation; `NoTimingsError` when the ledger kept none for it."""
    if job.kind not in EXPLAINED_KINDS:
        raise InvalidArgumentError(
            f"job {job.job_id} is a {job.kind.value}: explain covers imports, exports and migrations"
        )
    phases, parts = target.ledger(region).timings(job.job_id)
    return explain_import(job, phases, parts) if job.kind is JobKind.IMPORT else explain_export(job, parts)


def explain_recorded_migration(target: Target, record: MigrationRecord, region: str) -> MigrationExplanation:
    """A migration's explanation; a running one's up to now."""
    _, chunks = target.ledger(region).timings(record.migration_id)
    return explain_migration(record, chunks, now_ns=time.time_ns())


def explanation_lines(explanation: Explanation | MigrationExplanation) -> list[str]:
    """The human form of either explanation."""
    if isinstance(explanation, MigrationExplanation):
        return render_migration_explanation(explanation)
    return render_explanation(explanation)
