"""The flusher: one long-lived thread for every flush, and a new one after a flush overran its budget."""

from __future__ import annotations

import threading

from tenant_telemetry.flusher import Flusher


def test_flushes_run_on_one_reused_thread() -> None:
    threads: list[int] = []
    flusher = Flusher(lambda timeout_ms: threads.append(threading.get_ident()))

    assert all(flusher.run(1_000) for _ in range(5))

    assert len(threads) == 5
    assert len(set(threads)) == 1
    assert threading.get_ident() not in threads  # never on the caller's thread


def test_an_overrunning_flush_is_abandoned_and_the_next_gets_a_new_thread() -> None:
    release = threading.Event()
    threads: list[threading.Thread] = []

    def work(timeout_ms: float) -> None:
        threads.append(threading.current_thread())
        if len(threads) == 1:
            release.wait(5)  # the first flush hangs past its budget

    flusher = Flusher(work)
    assert flusher.run(50) is False
    assert flusher.run(1_000) is True

    stuck, fresh = threads
    assert stuck is not fresh
    release.set()
    stuck.join(5)
    assert not stuck.is_alive()  # it finished its flush, then left the next ones to the new thread
    assert flusher.run(1_000) is True
    assert threads[2] is fresh
