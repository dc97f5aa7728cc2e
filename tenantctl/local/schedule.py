"""Plays the EventBridge schedules of `topology.SCHEDULES` against the local AWS: a thread per
schedule invokes its function with the event EventBridge sends (`detail-type: Scheduled Event`).

One local setting differs from AWS on purpose: the period. AWS runs a schedule at its declared rate
(a minute at least); locally it runs every few seconds, so its effect shows within seconds on a laptop.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from tenant_pipeline.topology import ScheduleSettings
from tenantctl.local.runtime import ACCOUNT_ID, Deployment, LocalRuntime

LOGGER = logging.getLogger(__name__)


def scheduled_event(schedule: ScheduleSettings, region: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule delivers to its Lambda target."""
    rule = f"{schedule.function.name.replace('_', '-')}-every-{schedule.every_minutes}-min"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


class ScheduledInvoker:
    """One schedule: a thread that invokes the function every `every_s` seconds until stopped."""

    def __init__(
        self, *, schedule: ScheduleSettings, deployment: Deployment, runtime: LocalRuntime, every_s: float
    ) -> None:
        self._schedule = schedule
        self._deployment = deployment
        self._runtime = runtime
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{deployment.region}-{schedule.function.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def invoke_once(self) -> Any:
        event = scheduled_event(self._schedule, self._deployment.region)
        return self._runtime.invoke(self._deployment, event)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.invoke_once()
            except Exception:  # a failed run is retried at the next tick, as the next rule firing would
                LOGGER.exception("scheduled %s failed", self._deployment.physical_name)
