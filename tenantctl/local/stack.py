"""The whole local AWS: server with fair queues, resources in every region, handlers' runtime and pumps."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenant_pipeline import topology
from tenantctl.local.clients import DUMMY_CREDENTIALS, local_client
from tenantctl.local.defaults import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_SCHEDULE_EVERY_S,
    DEFAULT_STATE_DIR,
    SPANS_FILE_NAME,
    SPANS_FILE_PARAMETER,
    TELEMETRY_JSONL_ENV,
)
from tenantctl.local.execution_events import FailedExecutionWatcher
from tenantctl.local.fair_queues import fair_queues
from tenantctl.local.provision import RegionResources, local_function_name, provision_region
from tenantctl.local.pump import EventSourcePump, PumpSettings
from tenantctl.local.runtime import LocalRuntime, OnFailure, lambda_service
from tenantctl.local.schedule import ScheduledInvoker
from tenantctl.local.server import LocalServer


@dataclass(frozen=True)
class LocalAwsOptions:
    """How `tenantctl local up` (or the demo) runs the local AWS."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    state_dir: Path = DEFAULT_STATE_DIR
    regions: Sequence[str] = topology.DEFAULT_REGIONS
    pump: PumpSettings = field(default_factory=PumpSettings)
    function_environment: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of every function (e.g. a log level)."""
    schedule_every_s: float = DEFAULT_SCHEDULE_EVERY_S
    """Period of the scheduled functions (see `local/schedule.py`)."""


def telemetry_environment(state_dir: Path) -> dict[str, str]:
    """A JSON-lines span file in the state folder, always, so `tenantctl trace` draws every job; the
    functions also export to an OTLP endpoint when one is configured (they read it from the environment)."""
    return {TELEMETRY_JSONL_ENV: str(state_dir.resolve() / SPANS_FILE_NAME)}


STOP_GRACE_S = 15.0
"""How long `stop()` waits for in-flight invocations of the pumps."""


class LocalAws:
    """Start everything, serve until stopped; `stop()` finishes in-flight invocations first."""

    def __init__(self, options: LocalAwsOptions = LocalAwsOptions()) -> None:
        self.options = options
        self._server = LocalServer(options.host, options.port)
        self._pumps: list[EventSourcePump] = []
        self.schedules: list[ScheduledInvoker] = []
        self._watchers: list[FailedExecutionWatcher] = []
        self._resources = ExitStack()
        self.regions: list[RegionResources] = []
        self.endpoint_url = ""
        self.spans_file: Path | None = None

    @property
    def primary_region(self) -> str:
        return self.options.regions[0]

    def start(self) -> str:
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        self.endpoint_url = self._server.start()
        try:
            self._start_everything()
        except BaseException:
            self.stop()
            raise
        return self.endpoint_url

    def _start_everything(self) -> None:
        base = {
            **DUMMY_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **telemetry_environment(self.options.state_dir),
            **self.options.function_environment,
        }
        # The handlers run in this process: it carries their environment.
        os.environ.update(base)
        if TELEMETRY_JSONL_ENV in base:
            self.spans_file = Path(base[TELEMETRY_JSONL_ENV])
        runtime = LocalRuntime(self.primary_region, base)
        self._resources.enter_context(lambda_service(runtime))
        self._resources.enter_context(fair_queues())
        for region in self.options.regions:
            resources = provision_region(self.endpoint_url, region)
            self.regions.append(resources)
            runtime.add_region(region, resources.env())
            for name, function in resources.function_names.items():
                runtime.register(function, region, name)
            self._route_async_failures(runtime, resources)
            self._publish_spans_file(region)
            self._pumps.extend(self._make_pumps(runtime, resources))
            self.schedules.extend(self._make_schedules(runtime, resources.region))
            self._watchers.append(self._watch_failed_migrations(runtime, resources))
        for pump in self._pumps:
            pump.start()
        for schedule in self.schedules:
            schedule.start()
        for watcher in self._watchers:
            watcher.start()

    def _watch_failed_migrations(
        self, runtime: LocalRuntime, resources: RegionResources
    ) -> FailedExecutionWatcher:
        """The stack's EventBridge rule: failed migration executions go to the migration function."""
        name = topology.Resource.MIGRATION_FUNCTION.local_name(resources.region)
        return FailedExecutionWatcher(
            stepfunctions=local_client("stepfunctions", resources.region, self.endpoint_url),
            state_machine_arn=resources.published[topology.Resource.MIGRATION_STATE_MACHINE],
            region=resources.region,
            runtime=runtime,
            deployment=runtime.deployment(resources.function_names[name], resources.region, name),
        )

    def _publish_spans_file(self, region: str) -> None:
        if self.spans_file is not None:
            local_client("ssm", region, self.endpoint_url).put_parameter(
                Name=SPANS_FILE_PARAMETER, Value=str(self.spans_file), Type="String", Overwrite=True
            )

    def _route_async_failures(self, runtime: LocalRuntime, resources: RegionResources) -> None:
        """Each function's failed asynchronous invocations end on its on-failure queue, as the stack says."""
        sqs = local_client("sqs", resources.region, self.endpoint_url)
        for settings in topology.ASYNC_INVOKES:
            queue_url = resources.published[settings.on_failure.queue]

            def send(record: dict[str, Any], queue_url: str = queue_url) -> None:
                sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

            name = local_function_name(settings.function, resources.region)
            runtime.set_on_failure(
                runtime.deployment(settings.function, resources.region, name),
                OnFailure(retries=settings.retries, destination=send),
            )

    def _make_pumps(self, runtime: LocalRuntime, resources: RegionResources) -> list[EventSourcePump]:
        sqs = local_client("sqs", resources.region, self.endpoint_url)
        return [
            EventSourcePump(
                source=source,
                deployment=runtime.deployment(
                    source.function, resources.region, local_function_name(source.function, resources.region)
                ),
                runtime=runtime,
                sqs=sqs,
                queue_url=resources.published[source.queue.queue],
                queue_arn=resources.queue_arns[source.queue.queue],
                settings=self.options.pump,
            )
            for source in (*topology.EVENT_SOURCES, topology.EXPORT_FAILURES_SOURCE)
        ]

    def _make_schedules(self, runtime: LocalRuntime, region: str) -> list[ScheduledInvoker]:
        return [
            ScheduledInvoker(
                schedule=schedule,
                deployment=runtime.deployment(
                    schedule.function, region, local_function_name(schedule.function, region)
                ),
                runtime=runtime,
                every_s=self.options.schedule_every_s,
            )
            for schedule in topology.SCHEDULES
        ]

    def stop(self) -> None:
        """Stop polling and give in-flight invocations `STOP_GRACE_S` to finish. An invocation still
        running then is abandoned (its pollers are daemon threads): its messages come back after their
        visibility timeout, as after a Lambda timeout, so nothing is lost."""
        for watcher in self._watchers:
            watcher.stop()
        self._watchers.clear()
        runners: list[EventSourcePump | ScheduledInvoker] = [*self._pumps, *self.schedules]
        for runner in runners:
            runner.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for runner in runners:
            runner.join(max(0.0, deadline - time.monotonic()))
        self._pumps.clear()
        self.schedules.clear()
        self._resources.close()
        self._server.stop()
