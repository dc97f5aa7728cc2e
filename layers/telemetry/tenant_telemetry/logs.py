"""Log correlation: every log record made while a span is current carries its `trace_id` and `span_id`.

Installed as a log record factory, so it reaches every logger and handler, child loggers included. The
Powertools Logger writes a record's extra attributes as JSON keys, so its lines get `trace_id` and
`span_id` (lowercase hex, as in `traceparent`) with no change to the function's logging code.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from opentelemetry import trace

_lock = threading.Lock()
_installed: list[bool] = []


def install_log_correlation() -> None:
    """Wrap the current log record factory once per process."""
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = f"{context.trace_id:032x}"
                record.span_id = f"{context.span_id:016x}"
            return record

        logging.setLogRecordFactory(factory)
        _installed.append(True)
