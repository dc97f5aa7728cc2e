"""Tenant migration between regions, grouped by the phases of the `tenant-migration` state machine.

validate -> freeze -> snapshot -> transfer -> load (per chunk) -> verify -> cutover, or rollback.
Every phase is idempotent; `dispatch.run_phase` runs the one a task names. The execution input
contract is documented in `request`; freeze and cutover live in `directories`, the snapshot's
objects in `snapshot_store`, each other phase in the module of its name.
"""

from __future__ import annotations
