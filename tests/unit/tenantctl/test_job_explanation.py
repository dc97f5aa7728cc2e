"""`tenantctl explain` on hand-built ledger records: phases, shares, rates, what bound the job."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_pipeline.export.timing import ExportEntityTiming
from tenant_pipeline.imports.timings import BatchTiming, ValidationTiming
from tenant_pipeline.store.jobs import Job, JobKind, JobStatus
from tenantctl.job_explanation import NoTimingsError, explain_export, explain_import, render_explanation

MS = 1_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def _job(finished_ms: int, rows: int = 1_000) -> Job:
    return Job(
        job_id="imp-1",
        tenant_id="acme",
        kind=JobKind.IMPORT,
        status=JobStatus.SUCCEEDED,
        started_at="2026-01-01T00:00:00.000Z",
        started_ns=T0,
        finished_at=f"2026-01-01T00:00:{finished_ms // 1000:02d}.{finished_ms % 1000:03d}Z",
        total_rows=rows,
        stored=rows,
    )


def _validation() -> dict[str, Any]:
    # start-up 0-100 ms, pass 100-1,100 ms (400 ms of it reading, 250 checking), report to 1,200,
    # fan-out 1,200-1,500
    return {
        "validation": ValidationTiming(
            T0 + 100 * MS, T0 + 1_100 * MS, 0.4, T0 + 1_200 * MS, T0 + 1_500 * MS, check_s=0.25
        ).to_dict()
    }


def _batch(
    number: int, sent_ms: int, start_ms: int, write_ms: tuple[int, int], end_ms: int, **extra: Any
) -> dict[str, Any]:
    return BatchTiming(
        batch_number=number,
        rows=500,
        sent_ns=T0 + sent_ms * MS,
        started_ns=T0 + start_ms * MS,
        write_started_ns=T0 + write_ms[0] * MS,
        write_ended_ns=T0 + write_ms[1] * MS,
        throttled_retries=extra.get("retries", 0),
        throttled_s=extra.get("throttled_s", 0.0),
        ended_ns=T0 + end_ms * MS,
    ).to_dict()


def _phases(explanation: Any) -> dict[str, float]:
    return {phase.name: round(phase.seconds, 6) for phase in explanation.phases}


def test_phases_split_the_wall_time_and_add_up_to_it() -> None:
    # Given two batches sent at 1.3 s and 1.5 s, loaded one after the other, the job finished at 6 s
    batches = [
        _batch(1, 1_300, 2_000, (2_100, 3_000), 3_100, retries=2, throttled_s=0.3),
        _batch(2, 1_500, 3_500, (3_600, 5_600), 5_700),
    ]

    explanation = explain_import(_job(6_000), _validation(), batches)

    assert _phases(explanation) == pytest.approx(
        {
            "start-up": 0.1,
            "read": 0.4,
            "parse": 0.35,
            "validate": 0.25,
            "report": 0.1,
            "fan-out": 0.3,
            "queue wait": 0.5 + 0.4,  # 1.5-2.0 s and 3.1-3.5 s: sent, and no loader running
            "loader set-up": 0.2,
            "writes": 0.6 + 2.0,
            "throttled retries": 0.3,
            "counting": 0.2,
            "completion": 0.3,
            "unaccounted": 0.0,
        }
    )
    assert sum(phase.seconds for phase in explanation.phases) == pytest.approx(explanation.wall_seconds)
    assert explanation.wall_seconds == pytest.approx(6.0)


def test_the_binding_phase_is_named_with_its_share_and_the_runner_up() -> None:
    batches = [_batch(1, 1_300, 2_000, (2_100, 3_000), 3_100), _batch(2, 1_500, 3_500, (3_600, 5_600), 5_700)]

    explanation = explain_import(_job(6_000), _validation(), batches)

    assert explanation.binding.startswith(
        "The job was bound by writes (writing rows to DynamoDB): 48% of its 6.00 s"
    )
    assert "next came queue wait at 15%" in explanation.binding


def test_rates_overall_and_per_phase() -> None:
    batches = [_batch(1, 1_300, 2_000, (2_100, 3_000), 3_100), _batch(2, 1_500, 3_500, (3_600, 5_600), 5_700)]

    explanation = explain_import(_job(6_000), _validation(), batches)

    rates = {phase.name: phase.rows_per_second for phase in explanation.phases}
    assert explanation.rows_per_second == pytest.approx(1_000 / 6)
    assert rates["read"] == pytest.approx(1_000 / 0.4)
    assert rates["writes"] == pytest.approx(1_000 / 2.9)
    assert rates["queue wait"] is None


def test_slowest_batches_come_first() -> None:
    batches = [
        _batch(n, 1_300, 2_000 + n * 10, (2_100, 2_200 + n * 100), 2_300 + n * 100) for n in range(1, 9)
    ]

    explanation = explain_import(_job(6_000), _validation(), batches)

    assert [batch.batch_number for batch in explanation.slowest_batches] == [8, 7, 6, 5, 4]
    assert explanation.to_dict()["slowest_batches"][0]["queue_wait_seconds"] == pytest.approx(0.78)
    lines = render_explanation(explanation)
    assert any(line.startswith("slowest batches (of 8)") for line in lines)
    assert explanation.binding in lines


def test_a_job_without_timings_is_not_explained() -> None:
    with pytest.raises(NoTimingsError, match="no recorded timings"):
        explain_import(_job(6_000), {}, [])


def _export_job(finished_ms: int, records: int) -> Job:
    return Job(
        job_id="exp-1",
        tenant_id="acme",
        kind=JobKind.EXPORT,
        status=JobStatus.SUCCEEDED,
        started_at="2026-01-01T00:00:00.000Z",
        started_ns=T0,
        finished_at=f"2026-01-01T00:00:{finished_ms // 1000:02d}.{finished_ms % 1000:03d}Z",
        total_rows=records,
        stored=records,
    )


def test_an_export_splits_each_entity_by_what_was_measured_and_counts_the_hand_over() -> None:
    # Given two entities: 0.5-2.5 s (1 s querying, 0.5 s uploading), then after a continuation 3-4 s
    entities = [
        ExportEntityTiming(0, "contacts", 300, T0 + 500 * MS, 1.0, 0.5, T0 + 2_500 * MS).to_dict(),
        ExportEntityTiming(1, "orders", 100, T0 + 3_000 * MS, 0.5, 0.25, T0 + 4_000 * MS).to_dict(),
    ]

    explanation = explain_export(_export_job(4_200, 400), entities)

    assert _phases(explanation) == pytest.approx(
        {
            "start-up": 0.5,
            "query": 1.5,
            "serialise": 0.75,
            "upload": 0.75,
            "manifest and finish": 0.2,
            "unaccounted": 0.5,  # between the two invocations
        }
    )
    assert explanation.binding.startswith("The job was bound by query")
    assert [entity.entity for entity in explanation.entities] == ["contacts", "orders"]


def test_a_runner_up_under_one_percent_is_not_named() -> None:
    entities = [ExportEntityTiming(0, "contacts", 300, T0 + 1 * MS, 4.0, 0.001, T0 + 4_000 * MS).to_dict()]

    explanation = explain_export(_export_job(4_005, 300), entities)

    assert explanation.binding.startswith("The job was bound by query")
    assert "next came" not in explanation.binding
