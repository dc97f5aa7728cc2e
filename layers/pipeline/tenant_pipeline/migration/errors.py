"""Failures of a tenant migration.

The class name of an exception raised by a phase becomes the Step Functions error name (the Lambda
`errorType`), so the state machine's `Retry` and `Catch` select on these names: keep them stable.
"""

from __future__ import annotations

from tenant_pipeline.errors import PipelineError


class MigrationError(PipelineError):
    """Base of every failure a migration names."""


class InvalidMigrationRequestError(MigrationError):
    """The execution input cannot start a migration; nothing was frozen."""


class RegionNotConfiguredError(MigrationError):
    """A region publishes none of the product's resource names (the stack is not deployed there)."""


class MigrationConflictError(MigrationError):
    """Another migration (or an operator) changed the tenant's status while this one ran."""


class TransientMigrationError(MigrationError):
    """A throttled or briefly unavailable AWS call; the state machine retries the phase."""


class SnapshotMissingError(MigrationError):
    """A snapshot object the phase needs is not in its bucket."""


class SnapshotCorruptError(MigrationError):
    """A snapshot chunk's bytes do not match the digest the manifest recorded for it."""


class AlreadyCutOverError(MigrationError):
    """Rollback was asked after the directory already points at the target: nothing is undone."""


class UnknownMigrationError(MigrationError):
    """No migration record has this id."""


class UnknownPhaseError(MigrationError):
    """The event names no migration phase."""


class PurgeRefusedError(MigrationError):
    """The tenant's data in this region is its live copy (or the tenant is migrating)."""


class MigrationStoreError(MigrationError):
    """An AWS call of the migration failed for a reason a retry will not fix."""
