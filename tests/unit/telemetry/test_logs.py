"""Powertools Logger lines carry the current span's `trace_id` and `span_id`."""

from __future__ import annotations

import io
import json

from aws_lambda_powertools import Logger

from tenant_telemetry.logs import install_log_correlation
from tenant_telemetry.testing import InMemoryTelemetry


def test_powertools_json_lines_carry_the_current_span(memory: InMemoryTelemetry) -> None:
    install_log_correlation()
    install_log_correlation()  # idempotent: the factory is wrapped once
    stream = io.StringIO()
    logger = Logger(service="import-load", stream=stream)
    child = Logger(service="import-load", child=True)  # a module's child logger reaches the same handler

    with memory.telemetry.tracer.start_as_current_span("data.import.batch") as span:
        logger.info("batch stored")
        child.info("from a child logger")
    logger.info("outside any span")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    context = span.get_span_context()
    for line in lines[:2]:
        assert line["trace_id"] == f"{context.trace_id:032x}"
        assert line["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in lines[2]
    assert "span_id" not in lines[2]
