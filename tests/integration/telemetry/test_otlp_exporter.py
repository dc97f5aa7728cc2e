"""The layer's OTLP/HTTP export (opentelemetry-exporter-otlp-proto-http, configured from `OTEL_*`) against a
real receiver on loopback: compression, `Retry-After`, a proxy, TLS with a private CA, a refusal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tenant_telemetry.providers import Telemetry, build_telemetry
from tests.integration.telemetry.certificates import issue
from tests.integration.telemetry.forward_proxy import ForwardProxy
from tests.integration.telemetry.otlp_receiver import OtlpReceiver

BuildTelemetry = Callable[..., Telemetry]


@pytest.fixture
def exporting(monkeypatch: pytest.MonkeyPatch) -> Iterator[BuildTelemetry]:
    """Telemetry built from exactly the given environment (plus what the process needs to run)."""
    built: list[Telemetry] = []
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TENANT_TELEMETRY_")) or name.lower() in (
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "all_proxy",
        ):
            monkeypatch.delenv(name)

    def build(**env: str) -> Telemetry:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        telemetry = build_telemetry(shutdown_on_exit=False)
        built.append(telemetry)
        return telemetry

    yield build
    for telemetry in built:
        telemetry.shutdown()


def end_one_span(telemetry: Telemetry, name: str = "data.import.batch") -> None:
    with telemetry.tracer.start_as_current_span(name):
        pass


def test_the_official_exporter_sends_gzip_when_asked(
    receiver: OtlpReceiver, exporting: BuildTelemetry
) -> None:
    telemetry = exporting(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_EXPORTER_OTLP_COMPRESSION="gzip"
    )
    end_one_span(telemetry)
    telemetry.meter.create_counter("data.import.records_processed").add(3)

    assert telemetry.flush(5_000)

    assert [span.name for span in receiver.spans()] == ["data.import.batch"]
    assert [metric.name for metric in receiver.metric_list()] == ["data.import.records_processed"]
    assert {headers["content-encoding"] for headers in receiver.headers} == {"gzip"}
    assert {headers["user-agent"].split("/")[0] for headers in receiver.headers} == {
        "OTel-OTLP-Exporter-Python"
    }


def test_retry_after_is_waited_for(receiver: OtlpReceiver, exporting: BuildTelemetry) -> None:
    # Given a collector that asks for a second's pause first
    receiver.statuses = [(503, {"Retry-After": "1"})]
    telemetry = exporting(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_METRICS_EXPORTER="none")
    end_one_span(telemetry)

    # When the invocation flushes
    assert telemetry.flush(5_000)

    # Then the span arrives on the second request, sent no sooner than the collector asked
    assert [span.name for span in receiver.spans()] == ["data.import.batch"]
    first, second = receiver.received_at
    assert second - first >= 0.95


def test_a_413_is_not_retried_and_later_spans_still_arrive(
    receiver: OtlpReceiver, exporting: BuildTelemetry, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [413]
    telemetry = exporting(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_METRICS_EXPORTER="none")
    end_one_span(telemetry, "too.large")
    telemetry.flush(5_000)
    assert len(receiver.headers) == 1 and receiver.spans() == []
    assert "413" in caplog.text

    end_one_span(telemetry, "next.batch")
    assert telemetry.flush(5_000)
    assert [span.name for span in receiver.spans()] == ["next.batch"]


def test_http_proxy_is_honoured(receiver: OtlpReceiver, exporting: BuildTelemetry) -> None:
    # Given a collector reachable only through a proxy (its name resolves nowhere but at the proxy)
    with ForwardProxy(receiver.address) as proxy:
        telemetry = exporting(
            OTEL_EXPORTER_OTLP_ENDPOINT="http://collector.internal:4318",
            OTEL_METRICS_EXPORTER="none",
            HTTP_PROXY=proxy.url,
        )
        end_one_span(telemetry)
        assert telemetry.flush(5_000)

    assert proxy.requested == ["POST collector.internal:4318"]
    assert [span.name for span in receiver.spans()] == ["data.import.batch"]


def test_no_proxy_exempts_the_collector(receiver: OtlpReceiver, exporting: BuildTelemetry) -> None:
    with ForwardProxy(receiver.address) as proxy:
        telemetry = exporting(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_METRICS_EXPORTER="none",
            HTTP_PROXY=proxy.url,
            NO_PROXY="127.0.0.1",
        )
        end_one_span(telemetry)
        assert telemetry.flush(5_000)

    assert proxy.requested == []
    assert [span.name for span in receiver.spans()] == ["data.import.batch"]


def test_tls_with_a_private_ca(
    tmp_path: Path, exporting: BuildTelemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CA bundle variable of requests does not override the exporter's certificate
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    certificate = issue(tmp_path)
    with OtlpReceiver(tls=certificate.server_context()) as receiver:
        # Without the CA the collector's certificate is refused
        untrusting = exporting(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_TIMEOUT="1",
            OTEL_METRICS_EXPORTER="none",
        )
        end_one_span(untrusting, "unverified")
        untrusting.flush(2_000)
        untrusting.shutdown()
        assert receiver.spans() == []

        # With OTEL_EXPORTER_OTLP_CERTIFICATE naming it, the export arrives over TLS
        trusting = exporting(
            OTEL_EXPORTER_OTLP_CERTIFICATE=str(certificate.ca_file), OTEL_EXPORTER_OTLP_TIMEOUT="10"
        )
        end_one_span(trusting, "verified")
        assert trusting.flush(5_000)
        assert [span.name for span in receiver.spans()] == ["verified"]


def test_https_proxy_tunnels_to_a_collector_with_a_private_ca(
    tmp_path: Path, exporting: BuildTelemetry
) -> None:
    certificate = issue(tmp_path, hosts=("collector.internal",))
    with (
        OtlpReceiver(tls=certificate.server_context()) as receiver,
        ForwardProxy(receiver.address) as proxy,
    ):
        telemetry = exporting(
            OTEL_EXPORTER_OTLP_ENDPOINT="https://collector.internal:4318",
            OTEL_EXPORTER_OTLP_CERTIFICATE=str(certificate.ca_file),
            OTEL_METRICS_EXPORTER="none",
            HTTPS_PROXY=proxy.url,
        )
        end_one_span(telemetry)
        assert telemetry.flush(5_000)

    assert proxy.requested == ["CONNECT collector.internal:4318"]
    assert [span.name for span in receiver.spans()] == ["data.import.batch"]


def test_with_a_span_file_spans_go_to_the_endpoint_and_the_file(
    receiver: OtlpReceiver, exporting: BuildTelemetry, tmp_path: Path
) -> None:
    # Given the local AWS's span file and a user's endpoint, both set
    spans_file = tmp_path / "spans.jsonl"
    telemetry = exporting(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_METRICS_EXPORTER="none",
        TENANT_TELEMETRY_JSONL_PATH=str(spans_file),
    )
    end_one_span(telemetry)

    assert telemetry.flush(5_000)

    assert [span.name for span in receiver.spans()] == ["data.import.batch"]
    assert [json.loads(line)["name"] for line in spans_file.read_text().splitlines()] == ["data.import.batch"]
