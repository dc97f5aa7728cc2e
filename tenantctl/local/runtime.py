"""Runs our Lambda handlers in-process, one deployment per region, as the local AWS's Lambda service.

Each region gets its own copy of a handler module (its own "cold start" and module-level state) and
its own environment (resource names, region), as separate deployments would. Concurrent invocations
of one deployment each get an execution environment of their own, as on Lambda: a module copy that
serves one invocation at a time, reused by later invocations once free. The process has one
environment, swapped in around invocations: invocations of one deployment run concurrently (as
Lambda runs several instances of a function at once), while a deployment with another environment
waits until they have finished (and new ones wait behind it, so neither side starves). Swapping only
ever sets variables: the names a function's environment adds stay until the runtime is closed (see
`_ProcessEnvironment`).

Asynchronous invokes (`InvocationType=Event`) return at once, as Lambda's do, and run on a thread of
their own: a function that invokes itself to continue (a long export) must not wait for its own
continuation. A failed one is retried as its `topology.AsyncInvokeSettings` say (at once, where Lambda
waits a minute or two), then Lambda's invocation record goes to its on-failure destination. Stopping
the runtime waits for them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tenant_pipeline.cold_start import ColdStart
from tenant_pipeline.topology import FunctionSettings

ACCOUNT_ID = "123456789012"
"""The account moto serves by default."""
EVENT_INVOCATION = "Event"
INVOCATION_TYPE_HEADER = "x-amz-invocation-type"
LOGGER = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]
Destination = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class OnFailure:
    """A deployment's asynchronous invoke settings: retries, then where the invocation record goes."""

    retries: int
    destination: Destination


def invocation_record(
    deployment: Deployment, payload: str | None, error: str, attempts: int
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination once it gives up on an asynchronous invocation."""
    return {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{deployment.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": json.loads(payload) if payload else {},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": json.loads(error),
    }


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Deployment:
    """One function deployed in one region: its settings, physical name and environment."""

    function: FunctionSettings
    region: str
    physical_name: str
    environment: Mapping[str, str]

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.physical_name}"


class LocalRuntime:
    """Invokes `functions.<name>.handler.lambda_handler` in-process, per region."""

    def __init__(self, primary_region: str, base_environment: Mapping[str, str]) -> None:
        self._primary_region = primary_region
        self._base_environment = dict(base_environment)
        self._region_environments: dict[str, dict[str, str]] = {}
        self._idle: dict[tuple[str, str], list[ModuleType]] = {}
        self._loaded: set[tuple[str, str]] = set()
        self._by_arn: dict[str, Deployment] = {}
        self._load_lock = threading.Lock()
        self._lease = _EnvironmentLease()
        self._background: set[threading.Thread] = set()
        self._background_lock = threading.Lock()
        self._on_failure: dict[str, OnFailure] = {}

    def add_region(self, region: str, environment: Mapping[str, str]) -> None:
        """Environment of every function in `region` (resource names), on top of the base environment."""
        self._region_environments[region] = {
            **self._base_environment,
            **environment,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

    def register(self, function: FunctionSettings, region: str, physical_name: str) -> Deployment:
        """Make a function callable through the Lambda API (Step Functions tasks, `invoke`)."""
        deployment = self.deployment(function, region, physical_name)
        self._by_arn[deployment.arn] = deployment
        return deployment

    def deployment(
        self, function: FunctionSettings, region: str, physical_name: str | None = None
    ) -> Deployment:
        name = physical_name or function.name
        environment = {
            **self._region_environments.get(region, self._base_environment),
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        }
        return Deployment(function=function, region=region, physical_name=name, environment=environment)

    def set_on_failure(self, deployment: Deployment, on_failure: OnFailure) -> None:
        """Retry the deployment's failed asynchronous invocations, then send their record on."""
        self._on_failure[deployment.arn] = on_failure

    def close(self) -> None:
        """Give the process its own environment back, once no invocation runs any more."""
        self._lease.close()

    def registered(self, arn: str) -> Deployment | None:
        return self._by_arn.get(arn)

    def invoke(self, deployment: Deployment, event: Any) -> Any:
        """Run the handler with the deployment's environment and a context bounded by its timeout."""
        context = LocalLambdaContext(
            function_name=deployment.physical_name,
            memory_limit_in_mb=deployment.function.memory_mb,
            invoked_function_arn=deployment.arn,
            timeout_s=deployment.function.timeout_s,
        )
        with self._lease.hold(deployment.environment):
            key = (deployment.function.module, deployment.region)
            module = self._acquire(key, deployment)
            try:
                handler: Handler = module.lambda_handler
                return handler(event, context)
            finally:
                with self._load_lock:
                    self._idle[key].append(module)

    def invoke_for_lambda_api(self, deployment: Deployment, payload: str | None) -> tuple[str, bool]:
        """Invoke as the Lambda service does: JSON in, JSON out, errors as the Lambda error payload."""
        event = json.loads(payload) if payload else {}
        try:
            result = self.invoke(deployment, event)
        except Exception as exc:  # the Lambda service turns any handler error into an error payload
            error = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return json.dumps(error), True
        return json.dumps(result, default=str), False

    def invoke_in_background(self, deployment: Deployment, payload: str | None) -> threading.Thread:
        """An asynchronous invoke: the handler runs on a tracked thread; each error is logged, and
        the deployment's `OnFailure` (if any) retries it and then receives its invocation record."""
        thread = threading.Thread(
            target=self._run_in_background,
            args=(deployment, payload),
            name=f"lambda-event-{deployment.physical_name}",
        )
        with self._background_lock:
            self._background.add(thread)
        thread.start()
        return thread

    def _run_in_background(self, deployment: Deployment, payload: str | None) -> None:
        on_failure = self._on_failure.get(deployment.arn)
        attempts = 1 + (on_failure.retries if on_failure is not None else 0)
        try:
            for attempt in range(1, attempts + 1):
                body, errored = self.invoke_for_lambda_api(deployment, payload)
                if not errored:
                    return
                LOGGER.error(
                    "asynchronous invocation of %s failed (attempt %d of %d): %s",
                    deployment.physical_name,
                    attempt,
                    attempts,
                    body,
                )
            if on_failure is not None:
                on_failure.destination(invocation_record(deployment, payload, body, attempts))
        finally:
            with self._background_lock:
                self._background.discard(threading.current_thread())

    def join_background(self) -> None:
        """Wait for every asynchronous invocation, including those started while waiting."""
        while True:
            with self._background_lock:
                running = list(self._background)
            if not running:
                return
            for thread in running:
                thread.join()

    def _acquire(self, key: tuple[str, str], deployment: Deployment) -> ModuleType:
        """A free execution environment of the deployment, or a new one (a cold start)."""
        with self._load_lock:
            idle = self._idle.setdefault(key, [])
            if idle:
                return idle.pop()
            first = key not in self._loaded
            self._loaded.add(key)
            return self._load(deployment.function, deployment.region, private=not first)

    def _load(self, function: FunctionSettings, region: str, *, private: bool = False) -> ModuleType:
        """The primary region's first environment imports the module by its path; other regions and
        further concurrent environments load a private copy (module-level state of their own)."""
        if region == self._primary_region and not private:
            module = importlib.import_module(function.module)
            _start_cold(module)
            return module
        shared = importlib.import_module(function.module)
        spec = importlib.util.spec_from_file_location(f"{function.module}[{region}]", shared.__file__)
        if spec is None or spec.loader is None:
            return shared
        module = importlib.util.module_from_spec(spec)
        module.__package__ = shared.__package__
        # Registered while it runs, as an import would be: class decorators (dataclasses) look it up there.
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop(spec.name, None)
        return module


def _start_cold(module: ModuleType) -> None:
    """This runtime's first environment of a function is a cold start, even when the module was imported
    before: what it built for an earlier local AWS of this process (clients bound to a stopped endpoint) is
    dropped, and the next invocation builds its dependencies anew."""
    dependencies = getattr(module, "dependencies", None)
    if isinstance(dependencies, ColdStart):
        dependencies.reset()


class _EnvironmentLease:
    """Lets invocations that need the same environment overlap; any other waits for them to end.

    A thread already inside an invocation (a handler that invokes another function) swaps the
    environment for the nested call directly, as the former re-entrant lock allowed.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._current: frozenset[tuple[str, str]] | None = None
        self._active = 0
        self._waiting: dict[frozenset[tuple[str, str]], int] = {}
        self._saved: dict[str, str | None] = {}
        self._local = threading.local()
        self._process = _ProcessEnvironment()

    def close(self) -> None:
        self._process.close()

    @contextmanager
    def hold(self, environment: Mapping[str, str]) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            saved = self._process.apply(environment)
            try:
                yield
            finally:
                self._process.restore(saved)
            return
        key = frozenset(environment.items())
        self._enter(key, environment)
        self._local.depth = 1
        try:
            yield
        finally:
            self._local.depth = 0
            self._leave()

    def _enter(self, key: frozenset[tuple[str, str]], environment: Mapping[str, str]) -> None:
        with self._condition:
            self._waiting[key] = self._waiting.get(key, 0) + 1
            while self._active and (
                self._current != key or any(n for other, n in self._waiting.items() if other != key)
            ):
                self._condition.wait()
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
            if not self._active:
                self._saved = self._process.apply(environment)
                self._current = key
            self._active += 1

    def _leave(self) -> None:
        with self._condition:
            self._active -= 1
            if not self._active:
                self._process.restore(self._saved)
                self._saved, self._current = {}, None
                self._condition.notify_all()


class _ProcessEnvironment:
    """The process environment as invocations change it: values are set and set back, names never removed.

    Other threads read `os.environ` at any moment: botocore scans it for proxy settings whenever a client
    is made (moto's Step Functions makes one for every Lambda task), and CPython reads it by listing its
    names, then looking each one up. A name removed in between raises `KeyError` in that thread (a task
    then fails with `States.Runtime`). So a name that a function's environment adds keeps its latest value
    between invocations, and leaves only at `close()`, when nothing runs any more.
    """

    def __init__(self) -> None:
        self._added: set[str] = set()
        self._lock = threading.Lock()

    def apply(self, values: Mapping[str, str]) -> dict[str, str | None]:
        """Set `values`; returns what to give back to `restore`."""
        saved = {name: os.environ.get(name) for name in values}
        with self._lock:
            self._added.update(name for name, previous in saved.items() if previous is None)
        os.environ.update(values)
        return saved

    def restore(self, saved: Mapping[str, str | None]) -> None:
        for name, previous in saved.items():
            if previous is not None:
                os.environ[name] = previous

    def close(self) -> None:
        with self._lock:
            added, self._added = self._added, set()
        for name in added:
            os.environ.pop(name, None)


def invocation_type(headers: Any) -> str:
    """The `X-Amz-Invocation-Type` of a request (any header mapping, any case); Lambda's default."""
    for name, value in dict(headers or {}).items():
        if str(name).lower() == INVOCATION_TYPE_HEADER:
            return str(value)
    return "RequestResponse"


@contextmanager
def lambda_service(runtime: LocalRuntime) -> Iterator[None]:
    """Route moto's Lambda invocations of registered functions to the in-process runtime.

    moto would run a function in Docker, and would run an `Event` invoke before answering; Step
    Functions tasks and `lambda invoke` of our registered functions run the real handler module in
    this process instead, `Event` invokes in the background (the caller gets its 202 at once).
    Other functions keep moto's behaviour. Leaving waits for the background invocations.
    """
    from moto.awslambda.models import LambdaFunction

    original_invoke = LambdaFunction.invoke
    original = LambdaFunction._invoke_lambda

    def _invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        deployment = runtime.registered(self.function_arn)
        if deployment is None or invocation_type(request_headers) != EVENT_INVOCATION:
            return original_invoke(self, body, request_headers, response_headers)
        runtime.invoke_in_background(deployment, body or None)
        return b""

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        deployment = runtime.registered(self.function_arn)
        if deployment is None:
            return original(self, event)
        payload = event if event is None or _is_json_text(event) else json.dumps(event)
        body, errored = runtime.invoke_for_lambda_api(deployment, payload)
        return body, errored, ""

    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    try:
        yield
    finally:
        runtime.join_background()
        runtime.close()
        LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]


def _is_json_text(event: Any) -> bool:
    """moto hands over the decoded request body, except for an empty one (`"{}"`): tell them apart,
    so that a JSON string event (`"x"`) reaches the handler as that string."""
    if not isinstance(event, str):
        return False
    try:
        json.loads(event)
    except ValueError:
        return False
    return True
