"""With an OTLP endpoint in the user's environment, the local AWS exports there and keeps its span file."""

from __future__ import annotations

import time
from pathlib import Path

from tenantctl.commands.demo import sample_path
from tests.e2e.conftest import running_local_aws
from tests.integration.telemetry.otlp_receiver import OtlpReceiver


def test_trace_draws_the_job_and_the_endpoint_gets_its_spans(tmp_path: Path) -> None:
    # Given a collector on loopback, named by the user's environment for `local up` and every command
    with (
        OtlpReceiver() as receiver,
        running_local_aws(tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}) as aws,
    ):
        aws.tenantctl("tenants", "create", "acme")
        # When an import runs
        job = aws.tenantctl_json("import", "acme", "contacts", str(sample_path("contacts.csv")), "--wait")
        # Then `trace` draws it from the span file
        drawing = aws.tenantctl("trace", job["job_id"]).stdout
        assert drawing.splitlines()[0].startswith(f"trace {job['trace_id']}")
        assert "data.import.batch" in drawing
        # and the collector received the same trace, root included (it is flushed as its invocation ends)
        assert "data.import" in _received_names(receiver, job["trace_id"])


def _received_names(receiver: OtlpReceiver, trace_id: str, timeout_s: float = 15) -> set[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        names = {span.name for span in receiver.spans() if span.trace_id.hex() == trace_id}
        if "data.import" in names or time.monotonic() > deadline:
            return names
        time.sleep(0.2)
