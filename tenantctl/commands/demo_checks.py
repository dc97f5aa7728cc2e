"""What every step of `tenantctl demo` shares: saying what happened, and failing a step that did not."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from tenantctl.errors import DemoStepFailedError, NoSpansError
from tenantctl.output import print_lines
from tenantctl.trace_tree import read_spans

SPANS_TIMEOUT_S = 10.0
"""Spans reach the file when each invocation flushes; a trace's root is written last."""

Say = Callable[..., None]
"""Prints its lines (nothing when the demo prints JSON only)."""


def sayer(quiet: bool) -> Say:
    def say(*lines: str) -> None:
        if not quiet:
            print_lines(lines)

    return say


def expect(condition: bool, failure: str) -> None:
    """Fail the demo with `failure` unless `condition` holds."""
    if not condition:
        raise DemoStepFailedError(failure)


def wait_for_spans(
    spans_file: Path, trace_id: str, names: Collection[str], what: str
) -> list[dict[str, Any]]:
    """The trace's spans once every span named in `names` is there; a missing one fails the step."""
    deadline = time.monotonic() + SPANS_TIMEOUT_S
    while True:
        try:
            spans = read_spans(spans_file, trace_id)
        except NoSpansError:
            spans = []
        missing = set(names) - {str(span.get("name")) for span in spans}
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    expect(not missing, f"{what}: trace {trace_id} has no {', '.join(sorted(missing))} span")
    return spans
