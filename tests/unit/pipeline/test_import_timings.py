"""What the pipeline records for `tenantctl explain`: read time of a stream, SQS timestamps, round trips."""

from __future__ import annotations

import io

from tenant_pipeline.imports.timings import BatchTiming, TimedReads, ValidationTiming, sent_ns_of


def test_timed_reads_pass_every_byte_and_count_only_time_in_the_inner_read() -> None:
    ticks = iter(range(100))
    data = bytes(range(256)) * 100
    timed = TimedReads(io.BytesIO(data), clock=lambda: float(next(ticks)))

    read = b"".join(iter(lambda: timed.stream.read(1000), b""))

    assert read == data
    assert timed.seconds > 0 and timed.seconds == int(timed.seconds)  # one tick per inner read


def test_sqs_sent_timestamps_are_milliseconds_as_strings() -> None:
    assert sent_ns_of("1767225600123") == 1_767_225_600_123_000_000
    assert sent_ns_of(None) is None and sent_ns_of("") is None and sent_ns_of("soon") is None


def test_timings_survive_the_ledgers_json() -> None:
    batch = BatchTiming(7, 500, 1_000, 3_000, 3_500, 4_500, 2, 0.25, 5_000, receive_count=2)
    validation = ValidationTiming(1, 2, 0.5, 3, 4)

    assert BatchTiming.from_dict(batch.to_dict()) == batch
    assert ValidationTiming.from_dict(validation.to_dict()) == validation
    assert batch.queue_wait_s == 2_000 / 1e9 and batch.write_s == 1_000 / 1e9
