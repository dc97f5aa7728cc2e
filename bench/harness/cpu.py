"""CPU time of a piece of work, so noisy shared machines compare work done rather than waiting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class CpuSample:
    """CPU seconds of the whole process and of the calling thread, plus wall seconds."""

    process_s: float = 0.0
    thread_s: float = 0.0
    wall_s: float = 0.0


@contextmanager
def cpu_time() -> Iterator[CpuSample]:
    """Measure the block: process CPU (all threads), this thread's CPU, and wall time."""
    sample = CpuSample()
    p0, t0, w0 = time.process_time(), time.thread_time(), time.perf_counter()
    try:
        yield sample
    finally:
        sample.process_s = time.process_time() - p0
        sample.thread_s = time.thread_time() - t0
        sample.wall_s = time.perf_counter() - w0
