"""The local stand-in of EventBridge schedules: the event it delivers and the runs it keeps making."""

from __future__ import annotations

import threading
from typing import Any

from tenant_pipeline import topology
from tenantctl.local.runtime import Deployment
from tenantctl.local.schedule import ScheduledInvoker, scheduled_event

REGION = "eu-west-1"


class FailingFirstRuntime:
    """Stands in for `LocalRuntime`: records each event; the first invocation raises."""

    def __init__(self, wanted: int) -> None:
        self.events: list[dict[str, Any]] = []
        self.enough = threading.Event()
        self._wanted = wanted

    def invoke(self, deployment: Deployment, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if len(self.events) >= self._wanted:
            self.enough.set()
        if len(self.events) == 1:
            raise RuntimeError("the first run fails")
        return {}


def test_the_event_is_the_one_an_eventbridge_schedule_delivers() -> None:
    event = scheduled_event(topology.DEAD_LETTER_SCHEDULE, REGION)
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert event["region"] == REGION
    (rule,) = event["resources"]
    assert rule.startswith(f"arn:aws:events:{REGION}:") and ":rule/" in rule


def test_a_schedule_keeps_running_after_a_failed_run_until_stopped() -> None:
    runtime = FailingFirstRuntime(wanted=3)
    deployment = Deployment(topology.IMPORT_RECONCILE, REGION, "reconcile", {})
    invoker = ScheduledInvoker(
        schedule=topology.DEAD_LETTER_SCHEDULE,
        deployment=deployment,
        runtime=runtime,  # type: ignore[arg-type]
        every_s=0.01,
    )
    invoker.start()
    assert runtime.enough.wait(30)
    invoker.stop()
    invoker.join(30)
    runs = len(runtime.events)
    assert runs >= 3
    assert {event["detail-type"] for event in runtime.events} == {"Scheduled Event"}
    assert len({event["id"] for event in runtime.events}) == runs  # each firing is a new event
