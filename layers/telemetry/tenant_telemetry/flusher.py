"""Bounded flushes on one long-lived thread.

The SDK's `force_flush` does not bound its export by the timeout it is given (an export can retry for the
exporter's whole timeout), so a flush runs on a helper thread and the invocation waits for it at most its
budget. Starting a thread per invocation costs more CPU than the flush's own bookkeeping; one daemon
thread serves every flush of the process instead. A flush that overruns its budget is abandoned: its
thread finishes it and then exits, and the next flush gets a new thread.
"""

from __future__ import annotations

import threading
from _queue import SimpleQueue  # the C queue: `queue.py` would add its compile time to each cold start
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Request:
    timeout_ms: float
    done: threading.Event = field(default_factory=threading.Event)


class Flusher:
    """Runs `work(timeout_ms)` on a worker thread; `run` waits at most the budget for it."""

    def __init__(self, work: Callable[[float], None], name: str = "tenant-telemetry-flush") -> None:
        self._work = work
        self._name = name
        self._lock = threading.Lock()
        self._requests: SimpleQueue[_Request] | None = None

    def run(self, timeout_ms: float) -> bool:
        """True when the work finished within `timeout_ms`."""
        request = _Request(timeout_ms)
        with self._lock:
            if self._requests is None:
                self._requests = SimpleQueue()
                threading.Thread(
                    target=self._serve, args=(self._requests,), name=self._name, daemon=True
                ).start()
            requests = self._requests
            requests.put(request)
        if request.done.wait(timeout_ms / 1000):
            return True
        with self._lock:
            if self._requests is requests:
                self._requests = None  # that thread is stuck in this flush; the next one gets a new thread
        return False

    def _serve(self, requests: SimpleQueue[_Request]) -> None:
        while True:
            request = requests.get()
            try:
                self._work(request.timeout_ms)
            finally:
                request.done.set()
            with self._lock:
                if self._requests is not requests:
                    return  # abandoned while busy: a newer thread serves the next flushes
