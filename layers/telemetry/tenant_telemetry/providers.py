"""The tracer and meter providers: built once per cold start from the environment, flushed per invocation.

`configure()` is idempotent and cheap to call again. It imports the official OTLP/HTTP exporters
(opentelemetry-exporter-otlp-proto-http, which read their own `OTEL_EXPORTER_OTLP_*` variables) only when an
endpoint is configured, and adds no entry-point discovery of its own.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from tenant_telemetry.flusher import Flusher
from tenant_telemetry.ids import PresetIdGenerator
from tenant_telemetry.logs import install_log_correlation
from tenant_telemetry.otlp_headers import otlp_headers
from tenant_telemetry.processors import BackpressureSpanProcessor
from tenant_telemetry.resource import lambda_resource
from tenant_telemetry.settings import TelemetrySettings

if TYPE_CHECKING:
    import requests

_log = logging.getLogger(__name__)

SCOPE = "tenant_telemetry"

# Delta for what sums or samples per invocation; an up-down counter or a gauge is a level, so it stays
# cumulative (what the exporters' own "delta" preference selects). Used when
# `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` is unset: each invocation exports what it recorded,
# and a sandbox's cumulative totals would die with it.
DELTA_TEMPORALITY: dict[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


@dataclass(eq=False)
class Telemetry:
    """The providers of one process, and the bounded flush that every invocation ends with."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    settings: TelemetrySettings
    tracer: trace.Tracer = field(init=False)
    meter: metrics.Meter = field(init=False)
    _flusher: Flusher = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tracer = self.tracer_provider.get_tracer(SCOPE)
        self.meter = self.meter_provider.get_meter(SCOPE)
        self._flusher = Flusher(self._flush_now)

    def flush(self, timeout_ms: float) -> bool:
        """Export every finished span and metric point; give up after `timeout_ms`.

        The export runs on the flusher's thread (see `flusher`), and the caller waits for it at most
        `timeout_ms`. True when everything was handed to the exporters in time.
        """
        if timeout_ms <= 0:
            return False
        flushed = self._flusher.run(timeout_ms)
        if not flushed:
            _log.warning("telemetry flush did not finish within %d ms", timeout_ms)
        return flushed

    def _flush_now(self, timeout_ms: float) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        try:
            self.tracer_provider.force_flush(int(timeout_ms))
            left_ms = max(1, int((deadline - time.monotonic()) * 1000))
            self.meter_provider.force_flush(left_ms)
        except Exception:  # the flush must never fail an invocation
            _log.exception("telemetry flush failed")

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def build_telemetry(
    *,
    span_processors: Sequence[SpanProcessor] | None = None,
    metric_readers: Sequence[MetricReader] | None = None,
    shutdown_on_exit: bool = True,
) -> Telemetry:
    """New providers from the environment; the given processors and readers replace the configured ones."""
    settings = TelemetrySettings.from_env()
    resource = lambda_resource()
    tracer_provider = TracerProvider(
        resource=resource, id_generator=PresetIdGenerator(), shutdown_on_exit=shutdown_on_exit
    )
    headers = otlp_headers() if settings.otlp_traces or settings.otlp_metrics else None
    if span_processors is None:
        span_processors = _configured_span_processors(settings, headers)
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)
    if metric_readers is None:
        metric_readers = _configured_metric_readers(settings, headers)
    meter_provider = MeterProvider(
        resource=resource, metric_readers=list(metric_readers), shutdown_on_exit=shutdown_on_exit
    )
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider, settings=settings)


def _configured_span_processors(
    settings: TelemetrySettings, headers: dict[str, str] | None
) -> list[SpanProcessor]:
    """One processor per destination: the OTLP endpoint, the JSON-lines file, or both (the local AWS keeps
    its file for `tenantctl trace` while a user also sends spans to a backend)."""
    if settings.sdk_disabled:
        return []
    exporters: list[SpanExporter] = []
    if settings.otlp_traces:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter(headers=headers, session=export_session("TRACES")))
    if settings.jsonl_path:
        from tenant_telemetry.exporters.jsonl import JsonLinesSpanExporter

        exporters.append(JsonLinesSpanExporter(settings.jsonl_path))
    return [
        BackpressureSpanProcessor(
            exporter,
            max_queue_size=settings.max_queue_size,
            max_export_batch_size=settings.max_export_batch_size,
        )
        for exporter in exporters
    ]


def export_session(signal: str) -> requests.Session:
    """The HTTP session of a signal's exporter, with the environment's proxy for its collector resolved once.

    A `requests` session that trusts the environment re-reads all of it (proxy variables, `.netrc`, CA bundle
    variables) on every request, which made up a third of each export's CPU. A function's environment does
    not change while it runs, so the proxy for the collector (`HTTPS_PROXY` / `HTTP_PROXY`, unless
    `NO_PROXY` exempts the collector) is chosen here, once, and the session reads nothing more. TLS trust
    then comes only from `OTEL_EXPORTER_OTLP_CERTIFICATE` (the exporter's) or the bundled CA certificates.
    """
    import requests
    from requests.utils import get_environ_proxies

    endpoint = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT", ""
    )
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(get_environ_proxies(endpoint) if endpoint else {})
    return session


def _configured_metric_readers(
    settings: TelemetrySettings, headers: dict[str, str] | None
) -> list[MetricReader]:
    if settings.sdk_disabled or not settings.otlp_metrics:
        return []
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exporter = OTLPMetricExporter(
        headers=headers,
        session=export_session("METRICS"),
        preferred_temporality=None if settings.metrics_temporality_set else DELTA_TEMPORALITY,
    )
    return [
        PeriodicExportingMetricReader(
            exporter,
            # Each invocation flushes metrics itself, so no timer thread runs unless one is asked for.
            export_interval_millis=None if settings.metric_export_interval_set else math.inf,
        )
    ]


@dataclass
class _Process:
    """This process's telemetry: the active providers, and whether the globals were installed."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    active: Telemetry | None = None
    configured: bool = False


_process = _Process()


def configure() -> Telemetry:
    """Set the process's telemetry up from the environment, once; later calls return the same providers.

    The providers also become OpenTelemetry's global ones, so spans of other libraries land in the same
    trace, unless something else set the globals first (then that is logged, and this layer keeps its own).
    """
    with _process.lock:
        if _process.active is not None:
            return _process.active
        try:
            telemetry = build_telemetry()
        except Exception:  # telemetry must never stop a function from starting
            _log.exception("telemetry set-up failed; spans and metrics go nowhere in this sandbox")
            telemetry = _unexported_telemetry()
        if not _process.configured:
            _install_globals(telemetry)
            install_log_correlation()
            _process.configured = True
        _process.active = telemetry
        return telemetry


def _unexported_telemetry() -> Telemetry:
    return Telemetry(
        tracer_provider=TracerProvider(resource=Resource.get_empty(), id_generator=PresetIdGenerator()),
        meter_provider=MeterProvider(resource=Resource.get_empty()),
        settings=TelemetrySettings.from_env({}),
    )


def _install_globals(telemetry: Telemetry) -> None:
    # Each setter logs a warning and keeps the existing provider if one was set before.
    trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)


def get_telemetry() -> Telemetry:
    """The active telemetry, configured from the environment on first use."""
    active = _process.active
    return active if active is not None else configure()


def get_tracer() -> trace.Tracer:
    """The layer's tracer on the active providers: what functions start their own spans with."""
    return get_telemetry().tracer


def use_telemetry(telemetry: Telemetry | None) -> Telemetry | None:
    """Make `telemetry` the active one (see `tenant_telemetry.testing`); returns the previous one."""
    with _process.lock:
        previous, _process.active = _process.active, telemetry
    return previous


def flush_budget_ms(remaining_ms: float | None) -> float:
    """How long an invocation may spend flushing: the time it has left, less a margin for returning the
    response. Outside Lambda (no remaining time), `DEFAULT_FLUSH_BUDGET_MS`."""
    if remaining_ms is None or math.isnan(remaining_ms):
        return DEFAULT_FLUSH_BUDGET_MS
    return max(0.0, remaining_ms - FLUSH_MARGIN_MS)


FLUSH_MARGIN_MS = 100.0
"""Kept back from the invocation's remaining time for returning the response after the flush."""

DEFAULT_FLUSH_BUDGET_MS = 10_000.0
"""The OTLP exporters' default timeout: a flush with no invocation deadline waits at most this long."""
