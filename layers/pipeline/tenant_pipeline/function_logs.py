"""One JSON log per function: the handler's Powertools records and every domain module's alike.

The domain logs through `logging.getLogger(__name__)` and never configures logging. A handler module
calls `function_logger` once, at cold start: it makes the function's Powertools Logger and hands its
handler, level and JSON formatter to the `tenant_pipeline` logger tree, so a domain record ("import
job finished") reaches the function's log as the same JSON object as the handler's own records, with
its logger's `name`. The alarms' metric filters match those objects.
"""

from __future__ import annotations

import logging
import os
import sys

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

DOMAIN_LOGGERS = frozenset({"tenant_pipeline"})
"""Top-level loggers whose records go to the function's log (their children propagate to them). The
telemetry layer, usable by any function, leaves its few warnings to the host's root logger."""
RECORDS_LOGGER = "tenant_pipeline.records"
"""The batch processors log each failed record here (one WARNING per record of a partial batch)."""
LOG_STREAM_ENV = "TENANT_PIPELINE_LOG_STREAM"
"""`stderr` sends the log lines to standard error (the local AWS, whose standard output is for
its own messages); anything else, standard output, as on Lambda."""


def function_logger(service: str) -> Logger:
    """The function's Logger, with the domain loggers writing through it."""
    stream = sys.stderr if os.environ.get(LOG_STREAM_ENV) == "stderr" else sys.stdout
    logger = Logger(service=service, stream=stream)
    for name in DOMAIN_LOGGERS:
        logging.getLogger(name)  # registered, so the copy below finds it even before any child logs
    copy_config_to_registered_loggers(source_logger=logger, include=set(DOMAIN_LOGGERS))
    return logger


def record_failures_logger() -> logging.Logger:
    """What a `BatchProcessor` logs each failed record to (`logger=`), in the function's log."""
    return logging.getLogger(RECORDS_LOGGER)
