"""The layer's OTLP/HTTP client against a real HTTP receiver: retries, refusals, dead connections, gzip."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tenant_telemetry.exporters.otlp_http import OtlpHttpClient, OtlpSpanExporter, OtlpTarget
from tests.integration.telemetry.otlp_receiver import OtlpReceiver

BODY = ExportTraceServiceRequest().SerializeToString()


def client_for(receiver: OtlpReceiver, **options: object) -> OtlpHttpClient:
    return OtlpHttpClient(OtlpTarget(url=f"{receiver.endpoint}/v1/traces", **options))  # type: ignore[arg-type]


def test_retryable_statuses_are_retried_until_accepted(receiver: OtlpReceiver) -> None:
    receiver.statuses = [503, 429, 502]
    assert client_for(receiver).post(BODY)
    assert len(receiver.headers) == 4
    assert len(receiver.traces) == 1


def test_a_refusal_is_not_retried(receiver: OtlpReceiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.statuses = [400]
    assert not client_for(receiver).post(BODY)
    assert len(receiver.headers) == 1
    assert "refused: 400" in caplog.text


def test_retries_stop_at_the_timeout(receiver: OtlpReceiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.statuses = [503] * 100
    started = time.monotonic()
    assert not client_for(receiver, timeout_s=0.3).post(BODY)
    assert time.monotonic() - started < 1.0
    assert "failed within 0.3s" in caplog.text


def test_one_connection_is_kept_alive_and_a_dead_one_is_replaced(receiver: OtlpReceiver) -> None:
    client = client_for(receiver)
    assert client.post(BODY)
    assert client.post(BODY)
    # When the collector closes the idle connection (as while the sandbox was frozen)
    receiver.drop_connections()
    # Then the next export reconnects at once and succeeds
    assert client.post(BODY)
    assert len(receiver.traces) == 3


def test_an_unreachable_collector_fails_within_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = OtlpHttpClient(OtlpTarget(url=f"http://127.0.0.1:{port}/v1/traces", timeout_s=0.5))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert not client.post(BODY)
    assert time.monotonic() - started < 1.5
    assert "ConnectionRefusedError" in caplog.text


def test_gzip_and_headers_from_the_environment(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t,x-team=data")
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(OtlpSpanExporter()))
    provider.get_tracer("t").start_span("compressed").end()
    provider.shutdown()
    assert [span.name for span in receiver.spans()] == ["compressed"]
    headers = receiver.headers[0]
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/x-protobuf"
    assert (headers["x-api-key"], headers["x-team"]) == ("s3cr3t", "data")
