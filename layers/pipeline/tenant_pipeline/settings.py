"""Typed settings read once at handler start (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import overload

from tenant_pipeline import topology
from tenant_pipeline.errors import InvalidSettingError, MissingSettingError
from tenant_pipeline.topology import Resource, Tunable


@dataclass(frozen=True)
class PipelineSettings:
    """Resource names (from the env vars `topology` names) and the pipeline's tunables."""

    names: Mapping[Resource, str] = field(default_factory=dict)
    region: str | None = None
    batch_rows: int = topology.DEFAULT_BATCH_ROWS
    max_object_bytes: int = topology.DEFAULT_MAX_OBJECT_BYTES
    """Admission of files read in one invocation (gzip, JSON arrays)."""
    max_legged_object_bytes: int = topology.DEFAULT_MAX_LEGGED_OBJECT_BYTES
    """Admission of files read in legs (plain CSV and JSON Lines)."""
    max_decompressed_bytes: int = topology.DEFAULT_MAX_DECOMPRESSED_BYTES
    batches_max_receive_count: int = topology.BATCHES_QUEUE.max_receive_count
    migration_leg_steps: int | None = None
    """Most steps one leg of a migration's snapshot, transfer or verify takes; None: the time budget alone."""
    migration_leg_reserve_s: int = topology.MIGRATION_LEG_RESERVE_S
    validation_leg_s: float | None = topology.VALIDATION_LEG_READ_S
    """Cap on a validation leg's reading time; None: the invocation's remaining time decides."""
    validation_handover_delay_s: int = topology.VALIDATION_HANDOVER_DELAY_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if environ is None else environ
        names = {resource: env[resource.env_var] for resource in Resource if env.get(resource.env_var)}
        return cls(
            names=names,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            batch_rows=_positive_int(env, Tunable.BATCH_ROWS, topology.DEFAULT_BATCH_ROWS),
            max_object_bytes=_positive_int(env, Tunable.MAX_OBJECT_BYTES, topology.DEFAULT_MAX_OBJECT_BYTES),
            max_legged_object_bytes=_positive_int(
                env, Tunable.MAX_LEGGED_OBJECT_BYTES, topology.DEFAULT_MAX_LEGGED_OBJECT_BYTES
            ),
            max_decompressed_bytes=_positive_int(
                env, Tunable.MAX_DECOMPRESSED_BYTES, topology.DEFAULT_MAX_DECOMPRESSED_BYTES
            ),
            migration_leg_steps=_positive_int(env, Tunable.MIGRATION_LEG_STEPS, None),
            migration_leg_reserve_s=_leg_reserve_s(env),
            validation_leg_s=_seconds(env, Tunable.VALIDATION_LEG_SECONDS, topology.VALIDATION_LEG_READ_S),
            validation_handover_delay_s=_delay_seconds(env, Tunable.VALIDATION_HANDOVER_DELAY_S),
        )

    def name(self, resource: Resource) -> str:
        """Physical name (or queue URL) of a resource; raises if the environment lacks it."""
        try:
            return self.names[resource]
        except KeyError:
            raise MissingSettingError(f"environment variable {resource.env_var} is not set") from None


@overload
def _positive_int(env: Mapping[str, str], key: Tunable, default: int) -> int: ...
@overload
def _positive_int(env: Mapping[str, str], key: Tunable, default: None) -> int | None: ...
def _positive_int(env: Mapping[str, str], key: Tunable, default: int | None) -> int | None:
    raw = env.get(key.value)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSettingError(f"{key.value} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise InvalidSettingError(f"{key.value} must be a positive integer, got {raw!r}")
    return value


def _seconds(env: Mapping[str, str], key: Tunable, default: float) -> float:
    raw = env.get(key.value)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidSettingError(f"{key.value} must be a number of seconds, got {raw!r}") from None
    if not value >= 0:
        raise InvalidSettingError(f"{key.value} must be a number of seconds, got {raw!r}")
    return value


def _delay_seconds(env: Mapping[str, str], key: Tunable) -> int:
    raw = env.get(key.value)
    if not raw:
        return topology.VALIDATION_HANDOVER_DELAY_S
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= topology.SQS_MAX_DELAY_S:
        raise InvalidSettingError(
            f"{key.value} must be a whole number of seconds from 0 to {topology.SQS_MAX_DELAY_S}, got {raw!r}"
        )
    return value


def _leg_reserve_s(env: Mapping[str, str]) -> int:
    """A reserve of the whole timeout or more would leave a leg no time: it must be under it."""
    key = Tunable.MIGRATION_LEG_RESERVE_S
    reserve = _positive_int(env, key, topology.MIGRATION_LEG_RESERVE_S)
    if reserve >= topology.MIGRATION.timeout_s:
        raise InvalidSettingError(
            f"{key.value} must be under the migration function's {topology.MIGRATION.timeout_s} s timeout, "
            f"got {reserve}"
        )
    return reserve
