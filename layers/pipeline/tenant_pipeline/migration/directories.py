"""Which regions' tenant directories a migration keeps in step.

Each region's stack has its own directory. The function's own region (where the execution runs)
is the directory of record; the source region's directory must agree with it, so imports that land
there are refused while the tenant migrates; at cutover the target's directory learns the tenant.
"""

from __future__ import annotations

from tenant_pipeline.migration.context import MigrationContext
from tenant_pipeline.migration.state import MigrationState


def frozen_regions(context: MigrationContext, state: MigrationState) -> list[str]:
    """Directories that hold the tenant while it migrates: the function's region, then the source."""
    return list(dict.fromkeys([context.home_region, state.source_region]))


def cutover_regions(context: MigrationContext, state: MigrationState) -> list[str]:
    """The target first, so every directory that names the new home can already serve it."""
    return list(dict.fromkeys([state.target_region, *frozen_regions(context, state)]))
