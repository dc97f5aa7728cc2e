"""Plays the stack's EventBridge rule on the migration state machine's failed executions, locally.

The deployed stack sends "Step Functions Execution Status Change" events of FAILED, TIMED_OUT and
ABORTED executions to the migration function, which rolls back a migration left `migrating`. The
local AWS has no EventBridge delivery for Step Functions, so a watcher per region lists the state
machine's executions in those statuses and invokes the function asynchronously (as EventBridge
does) with the event AWS documents, once per execution.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from tenant_pipeline.migration.reconcile import ENDED_BADLY, EVENT_DETAIL_TYPE, EVENT_SOURCE
from tenantctl.local.runtime import ACCOUNT_ID, Deployment, LocalRuntime

LOGGER = logging.getLogger(__name__)
POLL_INTERVAL_S = 0.5


def _epoch_ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if isinstance(moment, datetime) else None


def status_change_event(execution: dict[str, Any], region: str) -> dict[str, Any]:
    """The EventBridge event AWS sends for an execution's status change, from DescribeExecution."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": execution["status"],
            "startDate": _epoch_ms(execution.get("startDate")),
            "stopDate": _epoch_ms(execution.get("stopDate")),
            "input": execution.get("input"),
            "output": execution.get("output"),
            "error": execution.get("error"),
            "cause": execution.get("cause"),
        },
    }


class FailedExecutionWatcher:
    """Polls one state machine for executions that ended badly and hands each to the function once."""

    def __init__(
        self,
        *,
        stepfunctions: Any,
        state_machine_arn: str,
        region: str,
        runtime: LocalRuntime,
        deployment: Deployment,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._stepfunctions = stepfunctions
        self._state_machine_arn = state_machine_arn
        self._region = region
        self._runtime = runtime
        self._deployment = deployment
        self._poll_interval_s = poll_interval_s
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"execution-events-{region}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_interval_s):
            try:
                self.deliver_new()
            except Exception:  # a transient local error must not end the watcher
                LOGGER.exception("listing the failed executions of %s", self._state_machine_arn)

    def deliver_new(self) -> int:
        """Invoke the function for each execution newly FAILED, TIMED_OUT or ABORTED; returns how many."""
        delivered = 0
        for status in ENDED_BADLY:
            paginator = self._stepfunctions.get_paginator("list_executions")
            for page in paginator.paginate(stateMachineArn=self._state_machine_arn, statusFilter=status):
                for listed in page["executions"]:
                    arn = listed["executionArn"]
                    if arn in self._seen:
                        continue
                    self._seen.add(arn)
                    execution = self._stepfunctions.describe_execution(executionArn=arn)
                    event = status_change_event(execution, self._region)
                    self._runtime.invoke_in_background(self._deployment, json.dumps(event))
                    delivered += 1
        return delivered
