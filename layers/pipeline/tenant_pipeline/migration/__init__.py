"""Tenant migration between regions, one module per phase of the `tenant-migration` state machine.

validate -> freeze -> snapshot -> transfer -> load (per chunk) -> verify -> cutover, or rollback.
Every phase is idempotent; `dispatch.run_phase` runs the one a task names. The execution input
contract is documented in `request`.
"""

from __future__ import annotations
